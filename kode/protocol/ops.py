"""Ops: everything a client can ask of a session, as plain data.

Ops are fire-and-forget submissions; their effects come back as events. An op is valid from any
client (TUI, `kode ask`, a remote WebSocket) because it carries no reference to the sender.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

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


class Shutdown(Model):
    """Cancel anything running and close the session's event stream."""

    type: Literal["shutdown"] = "shutdown"


Op = Annotated[
    SubmitMessage | Cancel | AnswerApproval | SetModel | SetPermissionMode | Shutdown,
    Field(discriminator="type"),
]
