"""The turn loop: context -> model -> tools -> repeat, until the model stops or `max_turns`.

An Agent owns one conversation (its Transcript), a model, a tool set and the state its tools keep
between calls. It talks to the world only by emitting events through the session's log, so the
same loop serves the TUI, `kode ask`, a server and sub-agents.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kode.core.approvals import ApprovalBroker
from kode.core.coalesce import DeltaCoalescer
from kode.core.compaction import (
    DEFAULT_WINDOW,
    CompactionSettings,
    called_paths,
    compact,
    estimate_tokens,
    request_overhead,
)
from kode.core.permissions import PermissionPolicy
from kode.core.prompt import build_system_prompt
from kode.core.routing import Routing
from kode.core.tool_runner import ToolLoopStopped, ToolRunner
from kode.core.tool_selection import left_out_note, select_tools
from kode.core.transcript import Transcript
from kode.llm.complete import side_call
from kode.llm.errors import LLMError
from kode.llm.types import (
    ChatRequest,
    Completed,
    ModelPort,
    RetryNotice,
    TextChunk,
    ThinkingChunk,
)
from kode.protocol.common import (
    ROOT_AGENT,
    AgentState,
    ErrorInfo,
    ErrorKind,
    TurnStatus,
    Usage,
    new_id,
)
from kode.protocol.events import (
    AgentStateChanged,
    ErrorEvent,
    Event,
    MessageCompleted,
    Retrying,
    SideCallPurpose,
    TextDelta,
    ThinkingDelta,
    TurnFinished,
    TurnStarted,
)
from kode.runtime.environment import Environment
from kode.tools.base import AgentToolState, ToolContext, ToolRegistry, ToolSettings
from kode.tools.memory import MemoryPort, memory_context

if TYPE_CHECKING:
    from kode.core.budget import Budget
    from kode.core.instructions import ProjectInstructions
    from kode.core.subagents import Subagents
    from kode.repo.cache import TagStore


@dataclass(slots=True)
class AgentSettings:
    model: str
    api_base: str | None = None
    api_key: str | None = None
    max_turns: int = 50
    max_output_tokens: int | None = None
    temperature: float | None = None
    system_prompt: str = ""
    append_system_prompt: str = ""
    tool_settings: ToolSettings = field(default_factory=ToolSettings)
    token_budget: int | None = None
    """Input plus output tokens a turn may use (a sub-agent's budget); None for no limit."""
    compaction: CompactionSettings = field(default_factory=CompactionSettings)
    routing: Routing = field(default_factory=Routing)
    max_offered_tools: int = 40
    """More tools than this: only the relevant ones are offered (kode.core.tool_selection)."""
    repo_map_tokens: int = 0
    """A repo map of this many tokens in the system prompt, built once per turn (0: none)."""
    repo_tags: TagStore | None = None
    """Where parsed tags persist across processes (the session store); None: memory only."""


_WINDOWS: dict[str, int] = {}
"""Context windows by model, looked up once per process."""

_FINAL_STATE = {
    TurnStatus.COMPLETED: AgentState.DONE,
    TurnStatus.MAX_TURNS: AgentState.DONE,
    TurnStatus.CANCELLED: AgentState.CANCELLED,
    TurnStatus.FAILED: AgentState.FAILED,
    TurnStatus.INTERRUPTED: AgentState.FAILED,
}


class Agent:
    def __init__(
        self,
        *,
        settings: AgentSettings,
        model: ModelPort,
        tools: ToolRegistry,
        env: Environment,
        policy: PermissionPolicy,
        approvals: ApprovalBroker,
        emit: Callable[[Event], Event],
        agent_id: str = ROOT_AGENT,
        parent_id: str | None = None,
        subagents: Subagents | None = None,
        depth: int = 0,
        instructions: ProjectInstructions | None = None,
        budget: Budget | None = None,
        memory: MemoryPort | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.tools = tools
        self.env = env
        self.policy = policy
        self.agent_id = agent_id
        self.parent_id = parent_id
        self.transcript = Transcript(agent_id)
        self.tool_state = AgentToolState()
        self._emit_raw = emit
        self.subagents = subagents
        self.instructions = instructions
        """AGENTS.md and friends, looked at again before every request (they may change)."""
        self.budget = budget
        """Spending caps, checked before every model call (shared with sub-agents)."""
        self.memory = memory
        """Long-term memories: the relevant ones join every request's system prompt."""
        self._repo_map = ""
        self._task_kind = ""
        """The current turn's task kind, for routing (kode.core.task_kinds); "" when not routed by kind."""
        self._side_usage = Usage()
        """What this turn's side calls cost (they are not messages, so the turn adds them itself)."""
        self.delegate = subagents.delegate_for(self, depth) if subagents is not None else None
        self.runner = ToolRunner(
            registry=tools,
            make_context=self._tool_context,
            policy=policy,
            approvals=approvals,
            emit=self._record,
            agent_id=agent_id,
            parent_id=parent_id,
        )

    def emit(self, event: Event) -> Event:
        return self._record(event.model_copy(update={"agent_id": self.agent_id, "parent_id": self.parent_id}))

    def bill(self, purpose: SideCallPurpose, call: Completed) -> None:
        """Record a call kode made for itself (a summary, a classification): a `side_call` event
        for usage and the caps, and part of the running turn's usage."""
        self.emit(side_call(purpose, call))
        self._side_usage = self._side_usage + call.usage

    def _record(self, event: Event) -> Event:
        """Into the session's log; a sub-agent also keeps its own transcript from what it records
        (the session feeds the root's)."""
        stamped = self._emit_raw(event)
        if self.agent_id != ROOT_AGENT:
            self.transcript.apply(stamped)
        return stamped

    def _tool_context(self, call_id: str) -> ToolContext:
        return ToolContext(
            env=self.env,
            state=self.tool_state,
            settings=self.settings.tool_settings,
            call_id=call_id,
            agent_id=self.agent_id,
            delegate=self.delegate,
        )

    async def _request(self) -> ChatRequest:
        asked = self._latest_request_text()
        schemas, left_out = select_tools(self.tools, asked, self.settings.max_offered_tools)
        memories = await memory_context(self.memory, asked) if self.memory is not None else ""
        parts = (self.settings.append_system_prompt, left_out_note(left_out), self._repo_map, memories)
        append = "\n\n".join(p for p in parts if p)
        system = build_system_prompt(
            cwd=self.env.root,
            tool_names=self.tools.names(),
            replace=self.settings.system_prompt,
            append=append,
            instructions=await self.instructions.text() if self.instructions is not None else "",
        )
        messages = [{"role": "system", "content": system}, *self.transcript.messages]
        return ChatRequest(
            model=self.settings.routing.choose(
                self.settings.model, estimate_tokens(messages), self.budget, self._task_kind
            ),
            messages=messages,
            tools=schemas,
            api_base=self.settings.api_base,
            api_key=self.settings.api_key,
            max_output_tokens=self.settings.max_output_tokens,
            temperature=self.settings.temperature,
        )

    async def _build_repo_map(self) -> str:
        """The repo map for this turn's request (from the tag cache, so cheap after the first):
        the files the conversation touched and the request's words steer it. A failure only
        means no map."""
        if self.settings.repo_map_tokens <= 0:
            return ""
        from kode.repo.repomap import build_repo_map

        try:
            repo_map = await build_repo_map(
                self.env,
                tokens=self.settings.repo_map_tokens,
                files=called_paths(self.transcript.messages[-40:]),
                query=self._latest_request_text(),
                store=self.settings.repo_tags,
            )
        except Exception:  # noqa: BLE001 - the map helps; it must never stop a turn
            return ""
        if not repo_map.text.strip():
            return ""
        return "Repository map (the most relevant files and their definitions):\n" + repo_map.text

    async def _classify_request(self) -> str:
        """The task kind of the turn's request, when routing by kind is configured (else "")."""
        routing = self.settings.routing
        if not routing.by_kind:
            return ""
        from kode.core.task_kinds import classify

        found = await classify(
            self._latest_request_text(),
            model=self.model,
            router_model=routing.router_model,
            api_base=self.settings.api_base,
            api_key=self.settings.api_key,
        )
        if found.call is not None:
            self.bill("router", found.call)
        return found.kind

    def _latest_request_text(self) -> str:
        for message in reversed(self.transcript.messages):
            if message["role"] == "user":
                return str(message.get("content") or "")
        return ""

    async def run_turn(self) -> TurnFinished:
        """Run one turn on the transcript as it stands (the user message is already in it).

        Never raises for model or tool failures: they end the turn as `failed` with a classified
        error. Cancellation ends it as `cancelled` with a consistent history, and is absorbed.
        """
        turn_id = new_id("turn")
        started = time.monotonic()
        usage = Usage()
        calls = 0
        result = ""
        error: ErrorInfo | None = None
        self._side_usage = Usage()
        try:
            self._task_kind = await self._classify_request()
            cancelled_early = False
        except asyncio.CancelledError:
            cancelled_early = True  # the turn still starts and ends, as cancelled
        routed = self.settings.routing.choose(self.settings.model, 0, self.budget, self._task_kind)
        self.emit(TurnStarted(turn_id=turn_id, model=routed, task_kind=self._task_kind))
        status = TurnStatus.MAX_TURNS
        try:
            if cancelled_early:
                raise asyncio.CancelledError
            self._repo_map = await self._build_repo_map()  # inside: a cancel here still ends the turn
            while calls < self.settings.max_turns:
                calls += 1
                completed = await self._model_step()
                usage = usage + completed.usage
                result = completed.text or result
                if not completed.tool_calls:
                    status = TurnStatus.COMPLETED
                    break
                await self.runner.run_all(completed.tool_calls)
                if self._over_budget(usage):
                    break
            if self._over_budget(usage) and status is not TurnStatus.COMPLETED:
                error = ErrorInfo(
                    kind=ErrorKind.TOOL_LOOP,
                    message=f"stopped: the token budget of {self.settings.token_budget} is spent",
                    hint="Give the sub-agent a narrower goal, or raise the budget.",
                )
            elif status is TurnStatus.MAX_TURNS:
                error = ErrorInfo(
                    kind=ErrorKind.TOOL_LOOP,
                    message=f"stopped after {self.settings.max_turns} model calls (max_turns)",
                    hint="Raise --max-turns or agent.max_turns, or split the task.",
                )
        except asyncio.CancelledError:
            status = TurnStatus.CANCELLED
        except LLMError as exc:
            status, error = TurnStatus.FAILED, exc.info
        except ToolLoopStopped as exc:
            status, error = TurnStatus.FAILED, exc.info
        usage = usage + self._side_usage
        if self.subagents is not None:  # children do not outlive the turn; their cost is the turn's
            usage = usage + await self.subagents.finish_turn(self.agent_id)
        if error is not None:
            self.emit(ErrorEvent(error=error))
        finished = TurnFinished(
            turn_id=turn_id,
            status=status,
            duration=round(time.monotonic() - started, 4),
            usage=usage,
            model_calls=calls,
            result=result,
            error=error,
        )
        self.emit(AgentStateChanged(state=_FINAL_STATE[status]))
        return self.emit(finished)  # type: ignore[return-value]  # the turn's last event

    def _over_budget(self, usage: Usage) -> bool:
        budget = self.settings.token_budget
        return budget is not None and usage.input_tokens + usage.output_tokens >= budget

    async def _model_step(self) -> Completed:
        """One model call; compacted first when the context is near the window, and once more
        (then retried once) when the provider says it is too long."""
        if self.budget is not None:
            self.budget.check()
        settings = self._compaction()
        request = await self._request()
        overhead = request_overhead(request)
        if estimate_tokens(request.messages[1:]) + overhead > settings.window * settings.compact_at:
            await compact(self, settings, reason="auto", overhead=overhead)
            request = await self._request()
        try:
            return await self._stream_step(request)
        except LLMError as exc:
            if exc.info.kind is not ErrorKind.CONTEXT_TOO_LONG:
                raise
            await compact(self, settings, reason="overflow", overhead=request_overhead(request))
            return await self._stream_step(await self._request())

    def _compaction(self) -> CompactionSettings:
        """The compaction settings, with the window from the model's info when not configured."""
        settings = self.settings.compaction
        if settings.window > 0:
            return settings
        model = self.settings.model  # it may change mid-session (/model), and with it the window
        if model not in _WINDOWS:
            lookup = getattr(self.model, "context_window", None)
            _WINDOWS[model] = (lookup(model) if lookup is not None else None) or DEFAULT_WINDOW
        return replace(settings, window=_WINDOWS[model])

    async def _stream_step(self, request: ChatRequest) -> Completed:
        """One model call, streamed out as deltas; returns the completed message."""
        self.emit(AgentStateChanged(state=AgentState.THINKING))
        message_id = new_id("msg")
        text: list[str] = []
        # late binding: after a retry the held text goes out under the new message id
        deltas = DeltaCoalescer(lambda chunk: self.emit(TextDelta(message_id=message_id, text=chunk)))
        try:
            async for delta in self.model.stream(request):
                if isinstance(delta, TextChunk):
                    text.append(delta.text)
                    deltas.add(delta.text)
                    continue
                deltas.flush()  # text so far goes out before whatever comes next
                if isinstance(delta, ThinkingChunk):
                    self.emit(ThinkingDelta(message_id=message_id, text=delta.text))
                elif isinstance(delta, RetryNotice):
                    self.emit(
                        Retrying(
                            attempt=delta.attempt,
                            max_attempts=delta.max_attempts,
                            delay=round(delta.delay, 3),
                            error=delta.error,
                            discarded_message_id=message_id,
                        )
                    )
                    message_id, text = new_id("msg"), []
                elif isinstance(delta, Completed):
                    self.emit(
                        MessageCompleted(
                            message_id=message_id,
                            text=delta.text,
                            thinking=delta.thinking,
                            tool_calls=delta.tool_calls,
                            finish_reason=delta.finish_reason,
                            model=delta.model,
                            usage=delta.usage,
                        )
                    )
                    return delta
        except asyncio.CancelledError:
            deltas.discard()
            if text:  # keep what the user already saw, marked as cut short
                self.emit(MessageCompleted(message_id=message_id, text="".join(text), finish_reason="cancelled"))
            raise
        finally:
            deltas.discard()
        raise LLMError.make(ErrorKind.STREAM, "the model stream ended without a message")
