"""A Session: one event log, driven by ops, running at most one turn at a time.

Frontends never call the agent loop. They `submit` ops and read `events(since)`; everything the
session does is an event appended to its log. The message history the model sees is a
projection of that log (see `Transcript`), so there is one source of truth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kode import __version__
from kode.core.agent import Agent, AgentSettings
from kode.core.approvals import ApprovalBroker
from kode.core.best_of import apply_for_user, run_best_of
from kode.core.budget import Budget
from kode.core.compaction import compact
from kode.core.event_log import EventLog
from kode.core.instructions import ProjectInstructions
from kode.core.permissions import PermissionMode, PermissionPolicy
from kode.core.subagents import Child, IsolatedPolicy, SubagentConfig, Subagents
from kode.llm.types import ModelPort
from kode.protocol import ops
from kode.protocol.common import (
    ROOT_AGENT,
    AgentState,
    ErrorInfo,
    ErrorKind,
    TurnStatus,
    new_id,
)
from kode.protocol.events import (
    AgentStateChanged,
    ContextCleared,
    ErrorEvent,
    Event,
    Memories,
    MemoryForgotten,
    MemoryItem,
    MemorySaved,
    MemoryUpdated,
    SessionStarted,
    SettingsChanged,
    TurnFinished,
    TurnStarted,
    UserMessage,
    Warning,
)
from kode.protocol.ops import Op
from kode.runtime.environment import Environment
from kode.tools.base import ToolRegistry
from kode.tools.delegation import DELEGATION_TOOL_NAMES, delegation_tools
from kode.tools.memory import MemoryNote, MemoryPort, memory_tools


class StoreMemory(MemoryPort, Protocol):
    """The memory port plus what `/memory` needs: kode.store.StoreMemoryPort.

    `update` and `delete` raise a LookupError for an id this project does not see, and a
    ValueError for text the store refuses (blank)."""

    async def list(self) -> list[Any]: ...

    async def update(self, id: int, text: str) -> MemoryNote: ...  # noqa: A002

    async def delete(self, id: int) -> None: ...  # noqa: A002


class SessionBusy(Exception):
    """A turn is already running; the session takes one message at a time."""


@dataclass(slots=True)
class SessionOptions:
    interactive: bool = True
    """False for `kode ask`: anything that needs approval is denied, and the model is told why."""
    approval_timeout: float | None = None


class Session:
    def __init__(
        self,
        *,
        settings: AgentSettings,
        model: ModelPort,
        tools: ToolRegistry,
        env: Environment,
        policy: PermissionPolicy,
        options: SessionOptions | None = None,
        session_id: str | None = None,
        history: list[Event] | None = None,
        subagents: SubagentConfig | None = None,
        instructions: ProjectInstructions | None = None,
        budget: Budget | None = None,
        memory: StoreMemory | None = None,
    ) -> None:
        self.id = session_id or new_id("ses")
        self.options = options or SessionOptions()
        self.log = EventLog(self.id)
        self.policy = policy
        self.approvals = ApprovalBroker(
            self.emit, interactive=self.options.interactive, timeout=self.options.approval_timeout
        )
        self.subagents = Subagents(subagents or SubagentConfig(), self._make_child, self.emit)
        self.memory = memory
        if memory is not None:
            for tool in memory_tools(memory):
                if tool.name not in tools:
                    tools.add(tool)
        if self.subagents.config.limits.max_depth > 0:
            for tool in delegation_tools():
                if tool.name not in tools:
                    tools.add(tool)
        self.agent = Agent(
            settings=settings,
            model=model,
            tools=tools,
            env=env,
            policy=policy,
            approvals=self.approvals,
            emit=self.emit,
            subagents=self.subagents,
            instructions=instructions,
            budget=budget,
            memory=memory,
        )
        self.budget = budget
        self._turn: asyncio.Task[TurnFinished] | None = None
        self._started = bool(history)
        if history:
            self.log.load(history)
            for event in history:
                self.agent.transcript.apply(event)
                if budget is not None:
                    budget.record(event)  # a resumed session's earlier spending counts

    def _make_child(self, *, parent: Agent, child: Child, env: Environment, isolated: bool, depth: int) -> Agent:
        """A sub-agent: the parent's settings with its type's model, prompt and tools, and the
        sub-agent limits; in its own worktree environment when it writes."""
        kind, limits = child.agent_type, self.subagents.config.limits
        settings = replace(
            parent.settings,
            model=child.model or kind.model or self.subagents.config.model or parent.settings.model,
            max_turns=limits.max_turns,
            token_budget=limits.token_budget,
            append_system_prompt="\n\n".join(p for p in (parent.settings.append_system_prompt, kind.system_prompt) if p),
        )
        allowed = set(kind.tools) if kind.tools is not None else None  # None: every tool
        nested = depth < limits.max_depth
        tools = ToolRegistry(
            tool
            for tool in parent.tools
            if (allowed is None or tool.name in allowed or (nested and tool.name in DELEGATION_TOOL_NAMES))
            and (nested or tool.name not in DELEGATION_TOOL_NAMES)
        )
        return Agent(
            settings=settings,
            model=parent.model,
            tools=tools,
            env=env,
            policy=IsolatedPolicy(self.policy) if isolated else self.policy,  # type: ignore[arg-type]
            approvals=self.approvals,
            emit=self.emit,
            agent_id=child.id,
            parent_id=parent.agent_id,
            subagents=self.subagents,
            depth=depth,
            instructions=parent.instructions,
            budget=parent.budget,
            memory=parent.memory,
        )

    # -- the log -------------------------------------------------------------------------------

    def emit(self, event: Event) -> Event:
        stamped = self.log.append(event)
        self.agent.transcript.apply(stamped)
        if self.budget is not None:
            self.budget.record(stamped)
        return stamped

    def events(self, since: int = 0) -> AsyncIterator[Event]:
        return self.log.events(since)

    def start(self) -> None:
        """Emit the session header once (idempotent)."""
        if self._started:
            return
        self._started = True
        self.emit(
            SessionStarted(
                cwd=self.agent.env.location,
                model=self.agent.settings.model,
                permission_mode=self.policy.mode.value,
                kode_version=__version__,
            )
        )
        self.emit(AgentStateChanged(state=AgentState.IDLE))

    def close_interrupted_turn(self) -> TurnFinished | None:
        """A turn that was running when its process died is recorded as interrupted, so history
        is consistent (every tool call answered) and the session can be continued."""
        open_turn: TurnStarted | None = None
        for event in self.log.durable_events():
            if isinstance(event, TurnStarted) and event.agent_id == ROOT_AGENT:
                open_turn = event
            elif isinstance(event, TurnFinished) and event.agent_id == ROOT_AGENT:
                open_turn = None
        if open_turn is None:
            return None
        self.emit(AgentStateChanged(state=AgentState.FAILED, detail="interrupted"))
        finished = TurnFinished(turn_id=open_turn.turn_id, status=TurnStatus.INTERRUPTED, duration=0.0)
        return self.emit(finished)  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        return self._turn is not None and not self._turn.done()

    # -- ops -----------------------------------------------------------------------------------

    async def submit(self, op: Op) -> None:
        self.start()
        match op:
            case ops.SubmitMessage(text=text):
                self._begin_turn(text)
            case ops.Cancel():
                await self.cancel()
            case ops.AnswerApproval(request_id=request_id, decision=decision, reason=reason):
                self.approvals.answer(request_id, decision, reason)
            case ops.SetModel(model=model):
                self.agent.settings.model = model
                self._settings_changed()
            case ops.SetPermissionMode(mode=mode):
                self.policy.mode = PermissionMode(mode)
                self._settings_changed()
            case ops.ClearContext():
                self._clear()
            case ops.Remember() | ops.ListMemories() | ops.UpdateMemory() | ops.ForgetMemory():
                await self._memory_op(op)
            case ops.Compact(focus=focus):
                self._refuse_if_busy()
                await compact(self.agent, self.agent._compaction(), reason="manual", focus=focus)
            case ops.BestOf():
                self._refuse_if_busy()
                self.emit(UserMessage(message_id=new_id("msg"), text=f"/best-of {op.n} {op.task}"))
                self._turn = asyncio.get_running_loop().create_task(
                    run_best_of(self.agent, self.subagents, op), name=f"best-of {self.id}"
                )
            case ops.ApplyChanges(child_id=child_id):
                self._refuse_if_busy()
                await apply_for_user(self.agent, self.subagents, child_id)
            case ops.Shutdown():
                await self.close()

    def _refuse_if_busy(self) -> None:
        if self.busy:
            self.emit(
                ErrorEvent(
                    error=ErrorInfo(
                        kind=ErrorKind.BAD_REQUEST,
                        message="session is busy: a turn is already running",
                        hint="Wait for it to finish or cancel it.",
                    )
                )
            )
            raise SessionBusy("session is busy: a turn is already running")

    def _begin_turn(self, text: str) -> None:
        self._refuse_if_busy()
        self.emit(UserMessage(message_id=new_id("msg"), text=text))
        self._turn = asyncio.get_running_loop().create_task(self.agent.run_turn(), name=f"turn {self.id}")

    def _clear(self) -> None:
        self._refuse_if_busy()
        self.emit(ContextCleared())

    async def _memory_op(self, op: ops.Remember | ops.ListMemories | ops.UpdateMemory | ops.ForgetMemory) -> None:
        """Save, list, edit or forget a long-term memory. A refused one (an id this project does
        not see, blank text) is an error event; the memories stay as they were."""
        memory = self.memory
        if memory is None:
            self.emit(Warning(code="no_memory", message="memories need the session store (this session is not saved)"))
            return
        event: Event
        try:
            match op:
                case ops.Remember(text=text, scope=scope):
                    event = MemorySaved(memory=_memory_item(await memory.add(scope, text)))
                case ops.UpdateMemory(id=memory_id, text=text):
                    event = MemoryUpdated(memory=_memory_item(await memory.update(memory_id, text)))
                case ops.ForgetMemory(id=memory_id):
                    await memory.delete(memory_id)
                    event = MemoryForgotten(id=memory_id)
                case _:
                    event = Memories(memories=[_memory_item(note) for note in await memory.list()])
        except LookupError as exc:
            hint = "/memory lists the memories this project sees."
            self.emit(ErrorEvent(error=ErrorInfo(kind=ErrorKind.NOT_FOUND, message=str(exc), hint=hint)))
        except ValueError as exc:
            self.emit(ErrorEvent(error=ErrorInfo(kind=ErrorKind.BAD_REQUEST, message=str(exc))))
        else:
            self.emit(event)

    def report_unsaved(self, exc: Exception) -> None:
        """The store stopped accepting writes: say so once; the session goes on, unsaved."""
        self.emit(Warning(code="unsaved", message=f"this session can no longer be saved ({exc}); work continues unsaved"))

    def _settings_changed(self) -> None:
        self.emit(SettingsChanged(model=self.agent.settings.model, permission_mode=self.policy.mode.value))

    async def cancel(self) -> None:
        """Cancel the running turn and wait until it has recorded itself as cancelled."""
        turn = self._turn
        if turn is None or turn.done():
            return
        turn.cancel()
        await asyncio.wait({turn})

    async def wait_idle(self) -> TurnFinished | None:
        if self._turn is None:
            return None
        return await asyncio.shield(self._turn)

    async def close(self) -> None:
        await self.cancel()
        if not self.log.closed:
            self.log.close()


def _memory_item(note: MemoryNote) -> MemoryItem:
    return MemoryItem(id=note.id, scope=note.scope, text=note.text)
