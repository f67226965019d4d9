"""Best-of-N: several attempts at one task, each in its own worktree, judged by a check.

A `best_of` op runs as a turn of the root agent: N `general` children start on the same task
(each with the next model of the list, if one is given), all in parallel within the sub-agent
limits; when each ends, the check command runs in its worktree (the project's tests unless
configured); the attempts are ranked (passing first, then smaller diffs, then cheaper) and
reported as a `best_of_finished` event and as an assistant message, so both the user (the
`apply_changes` op, `/apply ID` in the TUI) and the model (the `apply_changes` tool) can pick
one. Nothing reaches the workspace until then.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from kode.core.subagents import Child, Delegate, Subagents
from kode.protocol.common import AgentState, TurnStatus, Usage, new_id
from kode.protocol.events import (
    AgentStateChanged,
    BestOfEntry,
    BestOfFinished,
    ChangesApplied,
    ErrorEvent,
    MessageCompleted,
    TurnFinished,
    TurnStarted,
)
from kode.protocol.ops import BestOf

if TYPE_CHECKING:
    from kode.core.agent import Agent


async def run_best_of(agent: Agent, subagents: Subagents, op: BestOf) -> TurnFinished:
    turn_id = new_id("turn")
    started = time.monotonic()
    agent.emit(TurnStarted(turn_id=turn_id, model=agent.settings.model))
    agent.emit(AgentStateChanged(state=AgentState.RUNNING_TOOL, detail=f"best of {op.n}"))
    check = op.check if op.check is not None else (subagents.config.check_command or "")
    status, text = TurnStatus.COMPLETED, ""
    try:
        delegate = Delegate(subagents, agent, 0)
        ids = []
        for attempt in range(op.n):
            model = op.models[attempt % len(op.models)] if op.models else None
            ids.append(await delegate.start(op.task, "general", [], model=model, check=check))
        children = [subagents.children[child_id] for child_id in ids]
        await asyncio.wait([c.task for c in children if c.task is not None])
        ranking = rank(children, agent.settings.model)
        text = summary(op.task, ranking)
        agent.emit(MessageCompleted(message_id=new_id("msg"), text=text, model=f"best-of-{op.n}"))
        agent.emit(BestOfFinished(task=op.task, check=check or "the project's tests", ranking=ranking))
    except ValueError as exc:  # e.g. no git repository for the worktrees
        status, text = TurnStatus.FAILED, str(exc)
    except asyncio.CancelledError:
        status = TurnStatus.CANCELLED
    usage = Usage() + await subagents.finish_turn(agent.agent_id)
    final = {TurnStatus.COMPLETED: AgentState.DONE, TurnStatus.CANCELLED: AgentState.CANCELLED}
    agent.emit(AgentStateChanged(state=final.get(status, AgentState.FAILED)))
    finished = TurnFinished(
        turn_id=turn_id, status=status, duration=round(time.monotonic() - started, 4), usage=usage, result=text
    )
    return agent.emit(finished)  # type: ignore[return-value]


def rank(children: list[Child], default_model: str) -> list[BestOfEntry]:
    from kode.core.worktrees_check import Candidate, DiffStat
    from kode.core.worktrees_check import rank as order

    by_id = {child.id: child for child in children}
    candidates = [
        Candidate(
            child_id=child.id,
            passed=_passed(child),
            stat=_stat(child),
            cost=child.usage.cost_usd,
        )
        for child in children
    ]
    entries = []
    for candidate in order(candidates):
        child = by_id[candidate.child_id]
        stat: DiffStat = candidate.stat
        entries.append(
            BestOfEntry(
                child_id=child.id,
                model=child.model or default_model,
                status=child.status or TurnStatus.CANCELLED,
                passed=candidate.passed,
                check_output=child.check_result.output[-2_000:] if child.check_result else child.error,
                files=stat.files,
                added=stat.added,
                removed=stat.removed,
                cost_usd=child.usage.cost_usd,
            )
        )
    return entries


def _passed(child: Child) -> bool | None:
    if child.status is not TurnStatus.COMPLETED or not child.diff:
        return False  # an attempt that failed or changed nothing cannot win
    return child.check_result.passed if child.check_result else None


def _stat(child: Child):  # type: ignore[no-untyped-def]
    from kode.core.worktrees import diff_stat

    return diff_stat(child.diff)


def summary(task: str, ranking: list[BestOfEntry]) -> str:
    lines = [f"Best-of-{len(ranking)} for: {task}", ""]
    for place, entry in enumerate(ranking, 1):
        verdict = {True: "check passed", False: "check failed", None: "no check"}[entry.passed]
        lines.append(
            f"{place}. {entry.child_id} ({entry.model}): {entry.status.value}, {verdict}, "
            f"{entry.files} files +{entry.added} -{entry.removed}, ${entry.cost_usd:.4f}"
        )
    lines += ["", "Nothing is applied yet: apply one with apply_changes (or /apply ID)."]
    return "\n".join(lines)


async def apply_for_user(agent: Agent, subagents: Subagents, child_id: str) -> None:
    """The `apply_changes` op: the user chose; apply, or say why not (an error event)."""
    from kode.core.worktrees import diff_stat
    from kode.protocol.common import ErrorInfo, ErrorKind

    delegate = Delegate(subagents, agent, 0)
    try:
        diff = await delegate.changes(child_id)
        await delegate.apply(child_id)
    except ValueError as exc:
        agent.emit(ErrorEvent(error=ErrorInfo(kind=ErrorKind.BAD_REQUEST, message=str(exc))))
        return
    stat = diff_stat(diff)
    agent.emit(ChangesApplied(child_id=child_id, files=stat.files, added=stat.added, removed=stat.removed))
