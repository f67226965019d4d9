"""Sub-agents: an agent can fork children that run concurrently under the same session.

A child is an `Agent` with a parent: its own id, transcript, tool set (by agent type) and model,
emitting its events into the session's log tagged with its `agent_id` and `parent_id`, so every
client shows it live and resume shows it again. It starts from a briefing: a compact copy of the
parent's conversation (its recent messages), the files the parent names, and the goal.

A child whose type can write works in its own git worktree (kode.core.worktrees): nothing it
does touches the workspace. Its diff comes back to the parent, and `apply_changes` applies it
through the parent's permission flow; conflicts are reported, never resolved silently.

Limits keep a fork bomb from happening: depth, children running at once (the rest queue),
model calls per child and a token budget per child. Cancelling the parent's turn cancels its
children; a turn's children do not outlive it, and their worktrees are removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kode.config.agents import AgentType, builtin_agent_types
from kode.core.permissions import PermissionMode, PermissionPolicy
from kode.core.permissions.policy import Decision
from kode.protocol.common import TurnStatus, Usage, new_id
from kode.protocol.events import Event, SubagentFinished, SubagentSpawned, UserMessage
from kode.tools.base import ToolRegistry

if TYPE_CHECKING:
    from kode.core.agent import Agent
    from kode.core.worktrees_check import CheckResult

CHECK_TIMEOUT = 900.0
"""Seconds a best-of check command (the project's tests) may run in one attempt's worktree."""
BRIEFING_MESSAGES = 6
"""How many of the parent's latest user/assistant messages a child is given."""
MESSAGE_CHARS = 2_000
FILE_CHARS = 20_000


def writes(kind: AgentType, registry: ToolRegistry) -> bool:
    """Whether a child of this type could change files (and so needs its own worktree)."""
    read_only = [tool.name for tool in registry if tool.read_only or tool.kind == "other"]
    return not kind.is_read_only(read_only)


@dataclass(slots=True)
class SubagentLimits:
    max_depth: int = 2
    """Children of children of … the root: 1 allows children but no grandchildren."""
    max_concurrent: int = 4
    max_turns: int = 30
    """Model calls per child."""
    token_budget: int | None = 400_000
    """Input plus output tokens per child; None for no limit."""


@dataclass(slots=True)
class SubagentConfig:
    types: dict[str, AgentType] = field(default_factory=builtin_agent_types)
    """By name: the built-ins, overridden and extended by `.kode/agents/*.md` files."""
    limits: SubagentLimits = field(default_factory=SubagentLimits)
    model: str | None = None
    """The model a child uses when its type names none (config `subagents.model`); None: the parent's."""
    check_command: str | None = None
    """What best-of-N runs in each attempt's worktree; None: the project's tests, detected."""


@dataclass(slots=True)
class Child:
    id: str
    parent_id: str
    agent_type: AgentType
    goal: str
    task: asyncio.Task[None] | None = None
    status: TurnStatus | None = None
    result: str = ""
    usage: Usage = field(default_factory=Usage)
    diff: str = ""
    error: str = ""
    applied: bool = False
    model: str | None = None
    """This child's model, over its type's (best-of-N with several models)."""
    check: str | None = None
    """Run this check in the worktree when the child ends ("" detects the project's tests);
    None runs none."""
    check_result: CheckResult | None = None


class IsolatedPolicy:
    """A writer child's policy: the session's, except that in `default` mode file edits need no
    approval. They land in the child's own worktree and reach the workspace only through
    `apply_changes`, which asks under the session's policy. Commands still ask as always."""

    def __init__(self, base: PermissionPolicy) -> None:
        self.base = base

    @property
    def mode(self) -> PermissionMode:
        return self.base.mode

    def decide(self, tool_name: str, kind: Any, target: str) -> Decision:
        decision = self.base.decide(tool_name, kind, target)
        if kind == "edit" and decision.action == "ask" and self.base.mode is PermissionMode.DEFAULT and decision.rule is None:
            return Decision("allow", "Edits in a sub-agent's own worktree are applied only through apply_changes.")
        return decision

    def allow_for_session(self, rule: str) -> None:
        self.base.allow_for_session(rule)

    @staticmethod
    def suggest_rule(tool_name: str, kind: Any, target: str) -> str:
        return PermissionPolicy.suggest_rule(tool_name, kind, target)


AgentFactory = Callable[..., "Agent"]


class Subagents:
    """The children of one session's agents. One per session; `delegate_for(agent)` is what an
    agent's tools see (None past the depth limit)."""

    def __init__(self, config: SubagentConfig, make_agent: AgentFactory, emit: Callable[[Event], Event]) -> None:
        self.config = config
        self._make_agent = make_agent
        self._emit = emit
        self._slots = asyncio.Semaphore(config.limits.max_concurrent)
        self.children: dict[str, Child] = {}

    def delegate_for(self, agent: Agent, depth: int) -> Delegate | None:
        if depth >= self.config.limits.max_depth:
            return None
        return Delegate(self, agent, depth)

    async def finish_turn(self, parent_id: str) -> Usage:
        """The parent's turn is over: cancel its children still running, and return what all its
        children of this turn cost (rolled up into the parent's usage)."""
        mine = [c for c in self.children.values() if c.parent_id == parent_id]
        running = [c.task for c in mine if c.task is not None and not c.task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        total = Usage()
        for child in mine:
            total = total + child.usage
        return total  # a writer child's diff stays: apply_changes may still ask for it later


class Delegate:
    """One agent's view of sub-agents: what kode.tools.delegation's tools call."""

    def __init__(self, manager: Subagents, parent: Agent, depth: int) -> None:
        self.manager = manager
        self.parent = parent
        self.depth = depth

    def agent_types(self) -> list[tuple[str, str]]:
        return [(t.name, t.description) for t in self.manager.config.types.values()]

    async def start(
        self, goal: str, agent_type: str, files: list[str], *, model: str | None = None, check: str | None = None
    ) -> str:
        kind = self.manager.config.types.get(agent_type)
        if kind is None:
            known = ", ".join(self.manager.config.types)
            raise ValueError(f"unknown agent type {agent_type!r}; use one of: {known}")
        child = Child(
            id=new_id("agent"), parent_id=self.parent.agent_id, agent_type=kind, goal=goal, model=model, check=check
        )
        self.manager.children[child.id] = child
        briefing = await brief(self.parent, goal, files)
        self.parent.emit(SubagentSpawned(child_id=child.id, agent_type=kind.name, goal=goal))
        child.task = asyncio.get_running_loop().create_task(self._run(child, briefing), name=f"subagent {child.id}")
        return child.id

    async def _run(self, child: Child, briefing: str) -> None:
        worktree = None
        try:
            async with self.manager._slots:
                env = self.parent.env
                isolated = writes(child.agent_type, self.parent.tools)
                if isolated:
                    from kode.core import worktrees

                    worktree = await worktrees.open_worktree(env, child_id=child.id)
                    env = await env.rooted_at(worktree.path)
                agent = self.manager._make_agent(
                    parent=self.parent,
                    child=child,
                    env=env,
                    isolated=isolated,
                    depth=self.depth + 1,
                )
                agent.emit(UserMessage(message_id=new_id("msg"), text=briefing))
                finished = await agent.run_turn()
                child.status, child.result, child.usage = finished.status, finished.result, finished.usage
                if finished.error is not None:
                    child.error = finished.error.message
                if worktree is not None:
                    child.diff = await worktrees.worktree_diff(self.parent.env, worktree)
                    if child.check is not None:
                        from kode.core.worktrees_check import run_check

                        child.check_result = await run_check(
                            self.parent.env, worktree, child.check or None, CHECK_TIMEOUT
                        )
        except asyncio.CancelledError:
            child.status = TurnStatus.CANCELLED
            raise
        except Exception as exc:  # noqa: BLE001 - a child's failure is its parent's information
            child.status, child.error = TurnStatus.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            if worktree is not None:
                from kode.core import worktrees

                await asyncio.shield(worktrees.remove_worktree(self.parent.env, worktree))
            self.parent.emit(
                SubagentFinished(
                    child_id=child.id,
                    status=child.status or TurnStatus.CANCELLED,
                    result=child.result or child.error,
                    usage=child.usage,
                )
            )

    async def wait(self, child_ids: list[str], timeout: float | None) -> str:
        children = [self._child(child_id) for child_id in child_ids]
        tasks = [c.task for c in children if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        return "\n\n".join(report(child) for child in children)

    async def changes(self, child_id: str) -> str:
        child = self._child(child_id)
        if child.task is not None and not child.task.done():
            raise ValueError(f"{child_id} is still running; wait for it with task_result first")
        if not child.diff:
            raise ValueError(f"{child_id} made no changes to apply")
        return child.diff

    async def apply(self, child_id: str) -> str:
        from kode.core import worktrees

        child = self._child(child_id)
        diff = await self.changes(child_id)
        if child.applied:
            raise ValueError(f"the changes of {child_id} are already applied")
        outcome = await worktrees.apply_diff(self.parent.env, diff)
        if not outcome.ok:
            conflicts = ", ".join(outcome.conflicts) or "the workspace"
            raise ValueError(f"not applied: the changes of {child_id} conflict with {conflicts} ({outcome.message})")
        child.applied = True
        files, added, removed = worktrees.diff_stat(diff)
        return f"Applied the changes of {child_id}: {files} files, +{added} -{removed}."

    def _child(self, child_id: str) -> Child:
        child = self.manager.children.get(child_id)
        if child is None:
            raise ValueError(f"no sub-agent {child_id!r}")
        return child


def report(child: Child) -> str:
    """A child's outcome as its parent reads it."""
    status = child.status.value if child.status else "running"
    lines = [f"## {child.id} ({child.agent_type.name}): {status}"]
    if child.error:
        lines.append(f"Error: {child.error}")
    if child.result:
        lines.append(child.result)
    if child.diff:
        from kode.core.worktrees import diff_stat

        files, added, removed = diff_stat(child.diff)
        shown = child.diff if len(child.diff) <= 8_000 else child.diff[:8_000] + "\n[diff truncated]"
        lines.append(
            f"Changes ({files} files, +{added} -{removed}), not applied; apply_changes(id={child.id!r}) "
            f"applies them:\n{shown}"
        )
    return "\n".join(lines)


async def brief(parent: Agent, goal: str, files: list[str]) -> str:
    """The child's first message: the parent's recent conversation, the named files, the goal."""
    parts: list[str] = []
    recent = [m for m in parent.transcript.messages if m["role"] in ("user", "assistant") and m.get("content")]
    if recent:
        parts.append("## Context from the conversation that started you (most recent last)")
        for message in recent[-BRIEFING_MESSAGES:]:
            text = str(message["content"])
            text = text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " […]"
            parts.append(f"{message['role']}: {text}")
    for name in files:
        try:
            data = await parent.env.read_bytes(await parent.env.resolve(name, must_exist=True), limit=FILE_CHARS)
            parts.append(f"## File {name}\n```\n{data.decode('utf-8', 'replace')}\n```")
        except Exception as exc:  # noqa: BLE001 - a missing file is worth a line, not a failure
            parts.append(f"## File {name}\n(could not read it: {exc})")
    parts.append(f"## Your goal\n{goal}\n\nWhen you are done, answer with what you found or did; that answer is all your parent sees.")
    return "\n\n".join(parts)
