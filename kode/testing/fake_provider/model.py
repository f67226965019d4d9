"""The vocabulary of a fake-provider script: replies, tool calls, faults, recorded requests.

These are plain frozen dataclasses so a test can build them inline and compare them, and
every one has a ``from_dict`` so the CLI's JSON script and Python tests share one code path
(and one set of validation errors) instead of two parsers that drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Mapping

Api = Literal["openai", "anthropic"]
FaultKind = Literal["status", "error_after_200", "cut", "stall", "reset", "hang"]
FAULT_KINDS: tuple[str, ...] = ("status", "error_after_200", "cut", "stall", "reset", "hang")
PRESETS: tuple[str, ...] = ("context_too_long", "spend_limit", "auth")


def _check_keys(kind: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    """Reject unknown keys: a typo in a script must fail loudly, not be silently ignored."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{kind}: expected an object, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{kind}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


@dataclass(frozen=True)
class ToolCall:
    """One function call the fake model makes; ``id=None`` gets a deterministic generated id."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        _check_keys("tool_call", data, {"name", "arguments", "id"})
        if "name" not in data:
            raise ValueError("tool_call: 'name' is required")
        args = data.get("arguments", {})
        if not isinstance(args, dict):
            raise ValueError("tool_call: 'arguments' must be an object")
        return cls(name=str(data["name"]), arguments=args, id=data.get("id"))


@dataclass(frozen=True)
class Fault:
    """A failure injected into exactly one reply.

    Build these with the classmethods; the fields are the union of what the kinds need.
    ``preset`` names a realistic provider error whose status/message differ per API
    (e.g. a spent quota is a 429 at OpenAI but a 400 at Anthropic), so it is resolved
    only when the wire format is known.
    """

    kind: FaultKind
    code: int | None = None
    message: str | None = None
    retry_after: float | None = None
    error_type: str | None = None
    error_code: str | None = None
    preset: str | None = None
    after_chunks: int = 0
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        retry_after: float | None = None,
        error_type: str | None = None,
        *,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """An HTTP error status with a provider-shaped JSON error body."""
        return cls("status", code=code, message=message, retry_after=retry_after,
                   error_type=error_type, error_code=error_code, headers=dict(headers or {}))

    @classmethod
    def context_too_long(cls) -> Fault:
        """400 with the providers' real context-window message (OpenAI ``context_length_exceeded``)."""
        return cls("status", preset="context_too_long")

    @classmethod
    def spend_limit(cls) -> Fault:
        """Out of credit: OpenAI 429 ``insufficient_quota``; Anthropic 400 "credit balance is too low"."""
        return cls("status", preset="spend_limit")

    @classmethod
    def auth(cls) -> Fault:
        """401 invalid API key."""
        return cls("status", preset="auth")

    @classmethod
    def error_after_200(cls, after_chunks: int = 1, message: str | None = None,
                        error_type: str | None = None) -> Fault:
        """HTTP 200 stream that sends ``after_chunks`` events, then an in-stream error event."""
        return cls("error_after_200", after_chunks=after_chunks, message=message, error_type=error_type)

    @classmethod
    def cut(cls, after_chunks: int = 1) -> Fault:
        """Send ``after_chunks`` events, then drop the connection with no terminator."""
        return cls("cut", after_chunks=after_chunks)

    @classmethod
    def stall(cls, after_chunks: int = 1, seconds: float = 30.0) -> Fault:
        """Send ``after_chunks`` events, then go silent for ``seconds`` (then carry on)."""
        return cls("stall", after_chunks=after_chunks, seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Read the request, then close the socket with a TCP RST and no response at all."""
        return cls("reset")

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Send no response headers for ``seconds`` (then answer normally, if anyone still listens)."""
        return cls("hang", seconds=seconds)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """``{"kind": "status", "code": 429, "retry_after": 1}``; presets also as ``{"kind": "auth"}``."""
        allowed = {f.name for f in fields(cls)}
        _check_keys("fault", data, allowed)
        kind = data.get("kind")
        if kind in PRESETS:  # shorthand: {"kind": "context_too_long"}
            data = {**data, "kind": "status", "preset": kind}
            kind = "status"
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault: unknown kind {kind!r}; expected one of {FAULT_KINDS + PRESETS}")
        preset = data.get("preset")
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"fault: unknown preset {preset!r}; expected one of {PRESETS}")
        if kind == "status" and data.get("code") is None and preset is None:
            raise ValueError("fault: kind 'status' needs a 'code' (or a 'preset')")
        kwargs = {k: v for k, v in data.items() if k != "kind"}
        if "headers" in kwargs:
            kwargs["headers"] = {str(k): str(v) for k, v in dict(kwargs["headers"]).items()}
        return cls(kind=kind, **kwargs)


@dataclass(frozen=True)
class Reply:
    """What the fake model answers to one request.

    ``finish_reason`` accepts either API's vocabulary ("stop"/"end_turn", "length"/"max_tokens",
    "tool_calls"/"tool_use") and is translated for the other API, so one script drives both.
    """

    text: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    chunk_size: int = 8
    delay: float = 0.0
    fault: Fault | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Reply:
        """Build from a JSON object; a bare string is shorthand for ``{"text": ...}``."""
        if isinstance(data, str):
            return cls(text=data)
        _check_keys("reply", data, {f.name for f in fields(cls)})
        kwargs: dict[str, Any] = dict(data)
        if "tool_calls" in kwargs:
            kwargs["tool_calls"] = [ToolCall.from_dict(t) for t in kwargs["tool_calls"] or []]
        if kwargs.get("usage") is not None:
            usage = kwargs["usage"]
            if isinstance(usage, Mapping):
                usage = (usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
            prompt, completion = usage
            kwargs["usage"] = (int(prompt), int(completion))
        if kwargs.get("fault") is not None:
            kwargs["fault"] = Fault.from_dict(kwargs["fault"])
        return cls(**kwargs)


def load_script(path: str | Path) -> list[Reply]:
    """Read a JSON list of reply objects (the CLI's ``--script`` format)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script must be a JSON list of replies")
    return [Reply.from_dict(item) for item in data]


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the server saw it; ``headers`` keys are lower-case."""

    path: str
    headers: dict[str, str]
    body: Any
    api: Api
    method: str = "POST"

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def last_user_text(self) -> str:
        """Text of the last user message that has any (tool results are skipped), or ""."""
        for message in reversed(self.messages):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                parts = [p.get("text", "") for p in content
                         if isinstance(p, dict) and p.get("type") == "text"]
                if parts:
                    return "".join(parts)
        return ""
