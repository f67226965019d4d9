"""Small value types shared by ops and events: ids, usage, classified errors."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

ROOT_AGENT = "root"


def new_id(prefix: str) -> str:
    """A short random id with a readable prefix (`ses_…`, `msg_…`, `call_…`)."""
    return f"{prefix}_{secrets.token_hex(8)}"


class Model(BaseModel):
    """Base for protocol data: immutable, and strict about unknown fields at the edge."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentState(StrEnum):
    IDLE = "idle"
    THINKING = "thinking"
    RUNNING_TOOL = "running_tool"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TurnStatus(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MAX_TURNS = "max_turns"
    INTERRUPTED = "interrupted"
    """The process died mid-turn; set when a session is loaded again."""


class ErrorKind(StrEnum):
    """Why a model call failed, as a user (or a script) needs to know it."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM = "stream"
    """The stream broke after HTTP 200: an in-stream error, a cut, a stall."""
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    CONTEXT_TOO_LONG = "context_too_long"
    SPEND_LIMIT = "spend_limit"
    NOT_FOUND = "not_found"
    CONFIG = "config"
    TOOL_LOOP = "tool_loop"
    INTERNAL = "internal"


class ErrorInfo(Model):
    kind: ErrorKind
    message: str
    retryable: bool = False
    status_code: int | None = None
    hint: str | None = None
    """What the user can do about it, when we know."""


class Usage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 10),
        )


class ToolCallInfo(Model):
    id: str
    name: str
    arguments: str
    """The raw JSON text the model produced (kept verbatim for the provider's history)."""


ApprovalDecision = Literal["allow_once", "allow_session", "deny"]
PermissionModeName = Literal["default", "accept-edits", "plan", "bypass"]
