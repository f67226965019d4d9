"""Helpers both wire formats share: per-response context, chunking, token estimates, SSE framing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .model import Reply, ToolCall

# Either API's finish-reason vocabulary, mapped to each API's own word.
_TO_OPENAI = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "function_call": "tool_use"}


@dataclass(frozen=True)
class RenderContext:
    """What a wire renderer needs besides the reply: ids, echoed model, usage numbers."""

    seq: int
    model: str
    prompt_tokens: int
    completion_tokens: int
    include_usage: bool = False

    def tool_id(self, prefix: str, index: int, call: ToolCall) -> str:
        """Deterministic ids (unique per provider instance) so snapshots stay stable."""
        return call.id or f"{prefix}_fake{self.seq:04d}{index:02d}"


def make_context(reply: Reply, body: dict[str, Any], seq: int, default_model: str) -> RenderContext:
    """Resolve usage (explicit, or a deterministic ~4-chars-per-token estimate) for one reply."""
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt = estimate_prompt_tokens(body)
        completion = estimate_completion_tokens(reply)
    stream_options = body.get("stream_options") or {}
    return RenderContext(
        seq=seq,
        model=str(body.get("model") or default_model),
        prompt_tokens=prompt,
        completion_tokens=completion,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
    )


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """A stable stand-in for a tokenizer: grows with the conversation, never zero."""
    relevant = {k: body.get(k) for k in ("system", "messages", "tools")}
    return max(1, len(json.dumps(relevant, sort_keys=True, ensure_ascii=False)) // 4)


def estimate_completion_tokens(reply: Reply) -> int:
    size = len(reply.text) + len(reply.thinking)
    size += sum(len(c.name) + len(arguments_json(c.arguments)) for c in reply.tool_calls)
    return max(1, size // 4)


def estimate_thinking_tokens(reply: Reply) -> int:
    return len(reply.thinking) // 4


def arguments_json(arguments: dict[str, Any]) -> str:
    """Arguments serialised the way providers send them (key order kept, unicode unescaped)."""
    return json.dumps(arguments, ensure_ascii=False)


def split_text(text: str, size: int) -> list[str]:
    """Cut text into deltas of ``size`` characters; ``size <= 0`` means one delta."""
    if not text:
        return []
    if size <= 0:
        return [text]
    return [text[i:i + size] for i in range(0, len(text), size)]


def split_arguments(args: str, size: int) -> list[str]:
    """Like ``split_text`` but always at least two pieces, because real providers never send
    a tool call's arguments in one delta and clients must be exercised on reassembly."""
    pieces = split_text(args, size)
    if len(pieces) < 2 and len(args) >= 2:
        half = len(args) // 2
        pieces = [args[:half], args[half:]]
    return pieces


def openai_finish_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return _TO_OPENAI.get(reply.finish_reason, reply.finish_reason)
    return "tool_calls" if reply.tool_calls else "stop"


def anthropic_stop_reason(reply: Reply) -> str:
    if reply.finish_reason:
        return _TO_ANTHROPIC.get(reply.finish_reason, reply.finish_reason)
    return "tool_use" if reply.tool_calls else "end_turn"


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
