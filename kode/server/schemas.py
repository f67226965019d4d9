"""The HTTP API's request and response bodies (the OpenAPI spec is generated from these).

Protocol events and ops travel as they are (`kode.protocol`); these models are only the
resource shapes around them: sessions, messages, approvals, usage, errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kode.host.hub import SessionInfo, UsageReport
from kode.protocol.common import ApprovalDecision, ErrorInfo, PermissionModeName, TurnStatus, Usage

API_VERSION = "v1"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: not_found, busy, bad_request, unauthorized, …")
    message: str = Field(description="One line saying what happened and what to do.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class CreateSession(_Body):
    cwd: str | None = Field(None, max_length=4096, description="A directory inside the served workspace.")
    model: str | None = Field(None, min_length=1, max_length=200, description="litellm model string.")
    permission_mode: PermissionModeName | None = None
    title: str = Field("", max_length=200)


class UpdateSession(_Body):
    model: str | None = Field(None, min_length=1, max_length=200)
    permission_mode: PermissionModeName | None = None


class SessionOut(BaseModel):
    id: str
    title: str
    cwd: str
    model: str
    status: str = Field(description="idle or running when loaded; the stored status otherwise.")
    loaded: bool = Field(description="In memory now; stored sessions load when used.")
    busy: bool
    last_seq: int = Field(description="Seq of the latest event: resume event streams from here.")
    permission_mode: str = Field("", description="The permission mode (loaded sessions only).")
    updated_at: float | None = Field(None, description="Last stored change, Unix time (stored sessions).")

    @classmethod
    def of(cls, info: SessionInfo) -> SessionOut:
        return cls(
            id=info.id,
            title=info.title,
            cwd=info.cwd,
            model=info.model,
            status=info.status,
            loaded=info.loaded,
            busy=info.busy,
            last_seq=info.last_seq,
            permission_mode=info.permission_mode,
            updated_at=info.updated_at,
        )


class SessionList(BaseModel):
    sessions: list[SessionOut]


class PostMessage(_Body):
    text: str = Field(min_length=1, max_length=500_000)
    stream: StrictBool = Field(False, description="Answer with an SSE stream of this turn's events.")


class MessageResult(BaseModel):
    session_id: str
    turn_id: str
    status: TurnStatus
    result: str = Field(description="The final assistant text of the turn.")
    usage: Usage
    error: ErrorInfo | None = None


class Accepted(BaseModel):
    accepted: Literal[True] = True
    last_seq: int


class AnswerApproval(_Body):
    decision: ApprovalDecision
    reason: str = Field("", max_length=10_000, description="For a denial: told to the model.")


class PendingApproval(BaseModel):
    request_id: str
    call_id: str
    tool_name: str
    summary: str
    details: str
    suggested_rule: str


class PendingApprovals(BaseModel):
    approvals: list[PendingApproval]


class UsageOut(BaseModel):
    session_id: str
    total: Usage
    by_model: dict[str, Usage]
    by_agent: dict[str, Usage]
    turns: int

    @classmethod
    def of(cls, session_id: str, report: UsageReport) -> UsageOut:
        return cls(
            session_id=session_id,
            total=report.total,
            by_model=report.by_model,
            by_agent=report.by_agent,
            turns=report.turns,
        )
