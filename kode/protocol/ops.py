"""Ops: everything a client can ask of a session, as plain data.

Ops are fire-and-forget submissions; their effects come back as events. An op is valid from any
client (TUI, `kode ask`, a remote WebSocket) because it carries no reference to the sender.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt

from kode.protocol.common import ApprovalDecision, Model, PermissionModeName


class SubmitMessage(Model):
    """Start a turn with this user message (refused while a turn is running)."""

    type: Literal["user_message"] = "user_message"
    text: str = Field(min_length=1)


class Cancel(Model):
    """Stop the running turn: the stream is closed, running tools are killed, history stays valid."""

    type: Literal["cancel"] = "cancel"


class AnswerApproval(Model):
    type: Literal["approval_answer"] = "approval_answer"
    request_id: str
    decision: ApprovalDecision
    reason: str = ""
    """For a denial: told to the model, so it can change course."""


class SetModel(Model):
    type: Literal["set_model"] = "set_model"
    model: str = Field(min_length=1)


class SetPermissionMode(Model):
    type: Literal["set_permission_mode"] = "set_permission_mode"
    mode: PermissionModeName


class ClearContext(Model):
    """Start afresh in the same session: the model no longer sees the conversation so far
    (refused while a turn is running)."""

    type: Literal["clear"] = "clear"


class Remember(Model):
    """Save a long-term memory (`#note` in the TUI): for this project, or for every project."""

    type: Literal["remember"] = "remember"
    text: str = Field(min_length=1, max_length=2000)
    scope: Literal["project", "user"] = "project"


class ListMemories(Model):
    """Ask for this project's memories (`/memory`); they come back as a `memories` event."""

    type: Literal["list_memories"] = "list_memories"


class UpdateMemory(Model):
    """Replace a memory's text (`/memory`, `e`). An id this project does not see is an `error`
    event (`not_found`); nothing changes. Answered with `memory_updated`."""

    type: Literal["update_memory"] = "update_memory"
    id: StrictInt
    text: str = Field(min_length=1, max_length=2000)


class ForgetMemory(Model):
    """Delete a memory (`/memory`, `d`). An id this project does not see is an `error` event
    (`not_found`). Answered with `memory_forgotten`."""

    type: Literal["forget_memory"] = "forget_memory"
    id: StrictInt


class Compact(Model):
    """Compact the context now (`/compact [focus]`): a summary replaces all but the latest turns."""

    type: Literal["compact"] = "compact"
    focus: str = ""
    """What the summary should pay particular attention to."""


class BestOf(Model):
    """Run `n` sub-agents on the same task, each in its own git worktree (each with the next of
    `models`, if given), run the check command in each, and rank them (`best_of_finished`)."""

    type: Literal["best_of"] = "best_of"
    task: str = Field(min_length=1)
    n: StrictInt = Field(3, ge=2, le=8)
    models: list[str] = Field(default_factory=list)
    check: str | None = None
    """The command judging each attempt (default: config, else the project's tests)."""


class ApplyChanges(Model):
    """Apply a finished sub-agent's changes to the workspace (the user's choice, e.g. a best-of
    winner). Conflicts are reported as an error and nothing is applied."""

    type: Literal["apply_changes"] = "apply_changes"
    child_id: str = Field(min_length=1)


class Shutdown(Model):
    """Cancel anything running and close the session's event stream."""

    type: Literal["shutdown"] = "shutdown"


Op = Annotated[
    SubmitMessage
    | Cancel
    | AnswerApproval
    | SetModel
    | SetPermissionMode
    | ClearContext
    | Compact
    | Remember
    | ListMemories
    | UpdateMemory
    | ForgetMemory
    | BestOf
    | ApplyChanges
    | Shutdown,
    Field(discriminator="type"),
]
