"""Questions to the user are request/response with a cancel path, and never hang.

An approval request is an event; the answer is an op from any client (first answer wins, later
ones are ignored). It also resolves when the turn is cancelled, the optional timeout passes, or,
in a non-interactive session (`kode ask`), at once as a denial the model can act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from kode.protocol.common import ApprovalDecision, new_id
from kode.protocol.events import ApprovalRequested, ApprovalResolved, Event

NON_INTERACTIVE_DENIAL = (
    "This needs the user's approval, and this session cannot ask (non-interactive). "
    "The user can rerun with --allow 'RULE' or --permission-mode accept-edits/bypass."
)


@dataclass(frozen=True, slots=True)
class Answer:
    decision: ApprovalDecision
    reason: str = ""
    by: str = "user"


class ApprovalBroker:
    def __init__(self, emit: Callable[[Event], object], *, interactive: bool, timeout: float | None = None) -> None:
        self._emit = emit
        self.interactive = interactive
        self.timeout = timeout
        self._waiting: dict[str, tuple[asyncio.Future[Answer], ApprovalRequested]] = {}

    @property
    def pending(self) -> list[ApprovalRequested]:
        return [request for _, request in self._waiting.values()]

    async def ask(self, request: ApprovalRequested) -> Answer:
        """Emit the request and wait for its answer; the resolution is emitted too."""
        request = request.model_copy(update={"request_id": request.request_id or new_id("apr")})
        if not self.interactive:
            self._emit(request)
            return self._resolve_now(request, Answer("deny", NON_INTERACTIVE_DENIAL, by="policy"))
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[request.request_id] = (future, request)
        self._emit(request)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await asyncio.shield(future)
        except TimeoutError:
            self.answer(request.request_id, "deny", "No answer in time; the call was not run.", by="timeout")
            answer = future.result()
        except asyncio.CancelledError:
            self.answer(request.request_id, "deny", "The turn was cancelled.", by="cancel")
            raise
        return answer

    def answer(self, request_id: str, decision: ApprovalDecision, reason: str = "", *, by: str = "user") -> bool:
        """Resolve a waiting request. False when it is unknown or already answered."""
        entry = self._waiting.pop(request_id, None)
        if entry is None:
            return False
        future, request = entry
        self._resolve_now(request, Answer(decision, reason, by))
        if not future.done():
            future.set_result(Answer(decision, reason, by))
        return True

    def _resolve_now(self, request: ApprovalRequested, answer: Answer) -> Answer:
        self._emit(
            ApprovalResolved(
                agent_id=request.agent_id,
                parent_id=request.parent_id,
                request_id=request.request_id,
                call_id=request.call_id,
                decision=answer.decision,
                reason=answer.reason,
                by=answer.by,
            )
        )
        return answer
