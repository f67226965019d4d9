"""One `session/prompt`: submit the message, stream the turn's events back as session updates,
route approvals through `session/request_permission`, and answer with the stop reason.

Approvals are asked in their own tasks so updates keep flowing (a sub-agent may work while the
root waits for the user). An approval that kode resolves by itself (the turn was cancelled, it
timed out) withdraws the pending question. Whatever happens to the request — the editor cancels
it, the connection drops — the kode turn is never left running unseen.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from acp import RequestError
from acp.interfaces import Client
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    PromptResponse,
    StopReason,
    ToolCallUpdate,
    Usage,
)

from kode.acp.content import diff_contents, fenced, text_content, tool_kind, tool_title
from kode.acp.updates import Update, UpdateTranslator
from kode.host.hub import Hosted
from kode.protocol.common import ROOT_AGENT, ApprovalDecision, TurnStatus
from kode.protocol.common import Usage as TurnUsage
from kode.protocol.events import ApprovalRequested, ApprovalResolved, TurnFinished
from kode.protocol.ops import AnswerApproval, Cancel, SubmitMessage

log = logging.getLogger("kode.acp")

DECISIONS: dict[str, ApprovalDecision] = {"allow_once": "allow_once", "allow_session": "allow_session", "deny": "deny"}


def permission_options(request: ApprovalRequested) -> list[PermissionOption]:
    always = f"Always allow {request.suggested_rule} in this session" if request.suggested_rule else "Always allow"
    return [
        PermissionOption(option_id="allow_once", name="Allow", kind="allow_once"),
        PermissionOption(option_id="allow_session", name=always, kind="allow_always"),
        PermissionOption(option_id="deny", name="Deny", kind="reject_once"),
    ]


def permission_tool_call(request: ApprovalRequested, cwd: str) -> ToolCallUpdate:
    """The tool call as the permission prompt shows it: what exactly would run or change."""
    content: list[Any] = []
    if request.kind == "edit" and request.details:
        content = list(diff_contents(request.details, cwd))
    elif request.details:
        content = [text_content(fenced(request.details, "sh" if request.kind == "bash" else ""))]
    return ToolCallUpdate(
        tool_call_id=request.call_id,
        title=tool_title(request.tool_name, request.summary),
        kind=tool_kind(request.tool_name, request.kind),
        status="pending",
        content=content or None,
    )


def stop_reason(finished: TurnFinished | None, finish_reason: str | None) -> StopReason:
    """ACP's stop reason for how the turn ended; a failed turn is an error response instead."""
    if finished is None:
        return "cancelled"  # the session closed under the turn (kode is shutting down)
    status = finished.status
    if status is TurnStatus.COMPLETED:
        if finish_reason in ("content_filter", "refusal"):
            return "refusal"
        if finish_reason in ("length", "max_tokens"):
            return "max_tokens"
        return "end_turn"
    if status is TurnStatus.MAX_TURNS:
        return "max_turn_requests"
    if status is TurnStatus.FAILED:
        error = finished.error
        message = error.message if error else "the turn failed"
        if error and error.hint:
            message = f"{message}. {error.hint}"
        data = {"kind": error.kind.value, "retryable": error.retryable} if error else None
        raise RequestError(-32603, message, data)
    return "cancelled"


class Turn:
    def __init__(self, conn: Client, session_id: str, hosted: Hosted) -> None:
        self.conn = conn
        self.session_id = session_id
        self.client = hosted.client()
        self.cwd = hosted.cwd
        self.translator = UpdateTranslator(self.cwd)
        self._asking: dict[str, asyncio.Task[None]] = {}
        self._answering: set[asyncio.Task[None]] = set()

    async def run(self, text: str, since: int) -> PromptResponse:
        events = self.client.events(since)
        finished: TurnFinished | None = None
        try:
            await self.client.submit(SubmitMessage(text=text))
            async for event in events:
                await self.send(self.translator.translate(event))
                if isinstance(event, ApprovalRequested):
                    self._ask(event)
                elif isinstance(event, ApprovalResolved):
                    self._withdraw(event.request_id)
                elif isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
                    finished = event
                    break
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            pending = [*self._asking.values(), *self._answering]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if finished is None:
                await self.client.submit(Cancel())  # nobody will see the rest of this turn
        reason = stop_reason(finished, self.translator.finish_reason)
        usage = finished.usage if finished else None
        return PromptResponse(stop_reason=reason, usage=_usage(usage) if usage else None)

    async def cancel(self) -> None:
        """`session/cancel`: stop the turn; `run` then answers with the `cancelled` stop reason."""
        await self.client.submit(Cancel())

    async def send(self, updates: list[Update]) -> None:
        for update in updates:
            await self.conn.session_update(session_id=self.session_id, update=update)

    # -- approvals -------------------------------------------------------------------------------

    def _ask(self, request: ApprovalRequested) -> None:
        task = asyncio.get_running_loop().create_task(self._ask_editor(request), name=f"ask {request.request_id}")
        self._asking[request.request_id] = task
        task.add_done_callback(lambda _: self._asking.pop(request.request_id, None))

    def _withdraw(self, request_id: str) -> None:
        """kode resolved the request itself (answered, cancelled, timed out): stop waiting."""
        task = self._asking.pop(request_id, None)
        if task is not None:
            task.cancel()

    async def _ask_editor(self, request: ApprovalRequested) -> None:
        try:
            response = await self.conn.request_permission(
                session_id=self.session_id,
                tool_call=permission_tool_call(request, self.cwd),
                options=permission_options(request),
            )
        except ConnectionError:
            return  # the connection is gone; shutdown cancels the turn
        except Exception as exc:  # an error response, a malformed answer: never leave the call hanging
            log.warning("the editor did not answer a permission request: %s", exc)
            answer: Any = AnswerApproval(
                request_id=request.request_id, decision="deny", reason=f"The editor could not ask the user: {exc}"
            )
        else:
            outcome = response.outcome
            if isinstance(outcome, AllowedOutcome) and outcome.option_id in DECISIONS:
                answer = AnswerApproval(request_id=request.request_id, decision=DECISIONS[outcome.option_id])
            elif isinstance(outcome, AllowedOutcome):
                answer = AnswerApproval(
                    request_id=request.request_id, decision="deny", reason=f"Unknown option {outcome.option_id!r}."
                )
            else:
                answer = Cancel()  # "cancelled": the user cancelled the whole prompt turn
        # Answering must not be cut short by the withdrawal our own answer causes.
        self._asking.pop(request.request_id, None)
        answering = asyncio.get_running_loop().create_task(self.client.submit(answer))
        self._answering.add(answering)
        answering.add_done_callback(self._answering.discard)


def _usage(usage: TurnUsage) -> Usage:
    return Usage(
        total_tokens=usage.input_tokens + usage.output_tokens,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_read_tokens=usage.cache_read_tokens or None,
    )
