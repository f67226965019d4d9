"""Running one assistant message's tool calls: validate, guard, permit, execute.

Each call goes through the same steps, each visible as events keyed by `call_id`:
requested -> (approval requested/resolved) -> started -> output chunks -> finished.
Consecutive read-only calls that need no approval run concurrently in a TaskGroup; anything else
runs alone, in the order the model asked. Cancellation propagates into running tools (which kill
their process groups) and every call that did not finish is recorded as cancelled.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kode.core.approvals import Answer, ApprovalBroker
from kode.core.loop_guard import RepeatGuard
from kode.core.permissions import PermissionPolicy
from kode.protocol.common import AgentState, ErrorInfo, ErrorKind, ToolCallInfo, new_id
from kode.protocol.events import (
    AgentStateChanged,
    ApprovalRequested,
    Event,
    ToolCallFinished,
    ToolCallOutput,
    ToolCallRequested,
    ToolCallStarted,
    Warning,
)
from kode.runtime.environment import EnvironmentError_
from kode.tools.base import (
    InvalidArguments,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    ToolResult,
    UnknownTool,
)


@dataclass(slots=True)
class _Call:
    info: ToolCallInfo
    tool: Tool[Any] | None = None
    params: BaseModel | None = None
    problem: str | None = None
    note: str = ""
    target: str = ""
    """What permission rules match: for file tools the canonical workspace-relative path."""


class ToolLoopStopped(Exception):
    """The repeat guard stopped the turn."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


class ToolRunner:
    def __init__(
        self,
        *,
        registry: ToolRegistry,
        make_context: Callable[[str], ToolContext],
        policy: PermissionPolicy,
        approvals: ApprovalBroker,
        emit: Callable[[Event], Event],
        agent_id: str,
        parent_id: str | None,
        guard: RepeatGuard | None = None,
    ) -> None:
        self.registry = registry
        self.make_context = make_context
        self.policy = policy
        self.approvals = approvals
        self._emit_raw = emit
        self.agent_id = agent_id
        self.parent_id = parent_id
        self.guard = guard or RepeatGuard()
        self._unfinished: dict[str, str] = {}

    def _emit(self, event: Event) -> Event:
        return self._emit_raw(event.model_copy(update={"agent_id": self.agent_id, "parent_id": self.parent_id}))

    async def run_all(self, calls: list[ToolCallInfo]) -> None:
        """Run every call of one assistant message. Raises ToolLoopStopped or CancelledError."""
        prepared = [self._prepare(info) for info in calls]
        try:
            for call in prepared:
                call.target = await self._permission_target(call)
            batch: list[_Call] = []
            for index, call in enumerate(prepared):
                verdict = self._guard(call)
                if verdict == "stop":
                    await self._flush(batch)
                    self._stop_loop(prepared[index:])
                if self._concurrent(call):
                    batch.append(call)
                    continue
                await self._flush(batch)
                batch = []
                await self._run_one(call)
            await self._flush(batch)
        except asyncio.CancelledError:
            self._finish_unfinished("cancelled", "Cancelled by the user before it finished.")
            raise

    # -- steps ---------------------------------------------------------------------------------

    def _prepare(self, info: ToolCallInfo) -> _Call:
        call = _Call(info)
        try:
            call.tool, call.params = self.registry.parse(info.name, info.arguments)
        except (UnknownTool, InvalidArguments) as exc:
            call.problem = str(exc)
        arguments = call.params.model_dump(mode="json") if call.params is not None else {"raw": info.arguments}
        summary = call.tool.summary(call.params) if call.tool and call.params is not None else ""
        self._emit(ToolCallRequested(call_id=info.id, name=info.name, arguments=arguments, summary=summary))
        self._unfinished[info.id] = info.name
        return call

    def _guard(self, call: _Call) -> str:
        arguments = call.params.model_dump(mode="json") if call.params is not None else {"raw": call.info.arguments}
        verdict = self.guard.observe(call.info.name, arguments)
        if verdict == "warn":
            call.note = self.guard.note(call.info.name)
            self._emit(Warning(code="repeated_tool_call", message=call.note))
        return verdict

    def _stop_loop(self, remaining: list[_Call]) -> None:
        message = (
            f"Stopped: the model made the same {remaining[0].info.name} call "
            f"{self.guard.count} times in a row without progress."
        )
        self._finish_unfinished("error", "Not run: " + message)
        raise ToolLoopStopped(ErrorInfo(kind=ErrorKind.TOOL_LOOP, message=message, hint="Rephrase the request."))

    def _concurrent(self, call: _Call) -> bool:
        if call.problem or call.tool is None or call.params is None or not call.tool.read_only:
            return False
        return self.policy.decide(call.tool.name, call.tool.kind, call.target).action == "allow"

    async def _flush(self, batch: list[_Call]) -> None:
        if len(batch) == 1:
            await self._execute(batch[0])
        elif batch:
            async with asyncio.TaskGroup() as group:
                for call in batch:
                    group.create_task(self._execute(call))
        batch.clear()

    async def _run_one(self, call: _Call) -> None:
        if call.problem or call.tool is None or call.params is None:
            self._finish(call.info, "error", call.problem or "invalid call")
            return
        tool, params = call.tool, call.params
        decision = self.policy.decide(tool.name, tool.kind, call.target)
        if decision.action == "deny":
            self._finish(call.info, "denied", f"Permission denied: {decision.reason}")
            return
        if decision.action == "ask":
            try:
                details = await tool.preview(params, self.make_context(call.info.id))
            except (ToolError, EnvironmentError_) as exc:  # it would fail: say so instead of asking
                self._finish(call.info, "error", str(exc))
                return
            answer = await self._ask(call, tool, params, details)
            if answer.decision == "deny":
                why = answer.reason or "The user denied this call."
                self._finish(call.info, "denied", f"Permission denied: {why}")
                return
            if answer.decision == "allow_session":
                self.policy.allow_for_session(self.policy.suggest_rule(tool.name, tool.kind, call.target))
        await self._execute(call)

    async def _ask(self, call: _Call, tool: Tool[Any], params: BaseModel, details: str) -> Answer:
        self._emit(AgentStateChanged(state=AgentState.WAITING_FOR_APPROVAL, detail=tool.name))
        request = ApprovalRequested(
            agent_id=self.agent_id,
            parent_id=self.parent_id,
            request_id=new_id("apr"),
            call_id=call.info.id,
            tool_name=tool.name,
            kind=tool.kind,
            summary=tool.summary(params),
            details=details,
            suggested_rule=self.policy.suggest_rule(tool.name, tool.kind, call.target),
        )
        return await self.approvals.ask(request)

    async def _permission_target(self, call: _Call) -> str:
        """The tool's target, with file paths made canonical: `/ws/secrets/a`, `./x/../secrets/a` and
        a symlink into `secrets/` must all meet a rule written as `secrets/**`."""
        if call.tool is None or call.params is None:
            return ""
        target = call.tool.permission_target(call.params)
        if call.tool.kind not in ("read", "edit") or not target:
            return target
        env = self.make_context(call.info.id).env
        try:
            canonical = await env.resolve(target)
        except EnvironmentError_:
            return target  # the tool itself will refuse it with a clear error
        relative = os.path.relpath(canonical, env.root)
        return "." if relative == "." else relative.replace(os.sep, "/")

    async def _execute(self, call: _Call) -> None:
        assert call.tool is not None and call.params is not None
        info, tool = call.info, call.tool
        context = self.make_context(info.id)

        async def emit_output(chunk: str) -> None:
            self._emit(ToolCallOutput(call_id=info.id, chunk=chunk))

        context.emit_output = emit_output
        self._emit(AgentStateChanged(state=AgentState.RUNNING_TOOL, detail=tool.name))
        self._emit(ToolCallStarted(call_id=info.id, name=tool.name))
        started = time.monotonic()
        try:
            result = await tool.run(call.params, context)
        except (ToolError, EnvironmentError_) as exc:
            result = ToolResult.error(str(exc))
        except asyncio.CancelledError:
            self._finish(info, "cancelled", "Cancelled by the user while running.", duration=time.monotonic() - started)
            raise
        except Exception as exc:  # a bug in a tool must not kill the session: report it to the model
            result = ToolResult.error(f"internal error in {tool.name}: {type(exc).__name__}: {exc}")
        output = result.output + ("\n" + call.note if call.note else "")
        status = "error" if result.is_error else "ok"
        self._finish(info, status, output, display=result.display, duration=time.monotonic() - started)

    def _finish(
        self, info: ToolCallInfo, status: str, output: str, *, display: dict[str, Any] | None = None, duration: float = 0.0
    ) -> None:
        if self._unfinished.pop(info.id, None) is None:
            return
        self._emit(
            ToolCallFinished(
                call_id=info.id, name=info.name, status=status, output=output, display=display, duration=round(duration, 4)  # type: ignore[arg-type]
            )
        )

    def _finish_unfinished(self, status: str, output: str) -> None:
        for call_id, name in list(self._unfinished.items()):
            self._finish(ToolCallInfo(id=call_id, name=name, arguments=""), status, output)
