"""Anthropic messages wire format: bodies, the SSE event sequence and error shapes.

The stream reproduces the real event order (message_start, ping, content_block_start/delta/stop
per block, message_delta with stop_reason and usage, message_stop) including the empty first
``input_json_delta`` and the ``signature_delta`` that closes a thinking block, because clients
(litellm included) have broken on each of those details before.
"""

from __future__ import annotations

from typing import Any

from .common import (
    RenderContext,
    anthropic_stop_reason,
    arguments_json,
    split_arguments,
    split_text,
    sse,
)
from .model import Fault, Reply

API = "anthropic"
_SIGNATURE = "ZmFrZS1zaWduYXR1cmU="  # base64("fake-signature"): opaque to clients, as the real one is.

_RATE_LIMIT = ("Number of request tokens has exceeded your per-minute rate limit "
               "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for current "
               "usage. Please reduce the prompt length or the maximum tokens requested, or try again later.")
# status -> (error type, message), per Anthropic's documented error types.
_STATUS_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", _RATE_LIMIT),
    500: ("api_error", "Internal server error"),
    502: ("api_error", "Bad gateway"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
_PRESETS: dict[str, tuple[int, str, str]] = {
    "context_too_long": (400, "invalid_request_error", "prompt is too long: 215234 tokens > 200000 maximum"),
    "spend_limit": (400, "invalid_request_error",
                    "Your credit balance is too low to access the Anthropic API. "
                    "Please go to Plans & Billing to upgrade or purchase credits."),
    "auth": (401, "authentication_error", "invalid x-api-key"),
}


def http_error(fault: Fault) -> tuple[int, dict[str, Any]]:
    """Status and ``{"type": "error", "error": {type, message}}`` body for a status fault."""
    if fault.preset:
        status, etype, message = _PRESETS[fault.preset]
    else:
        status = fault.code or 500
        etype, message = _STATUS_DEFAULTS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status}"))
    return status, {"type": "error",
                    "error": {"type": fault.error_type or etype, "message": fault.message or message},
                    "request_id": "req_fake"}


def inline_error(fault: Fault) -> dict[str, Any]:
    """The error object Anthropic sends after the 200 (in practice almost always an overload)."""
    return {"type": "error", "error": {"type": fault.error_type or "overloaded_error",
                                       "message": fault.message or "Overloaded"}}


def stream_error(fault: Fault) -> bytes:
    """``event: error`` in the middle of a stream."""
    return sse(inline_error(fault), event="error")


def _usage(ctx: RenderContext) -> dict[str, Any]:
    return {"input_tokens": ctx.prompt_tokens, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": ctx.completion_tokens}


def _blocks(reply: Reply, ctx: RenderContext) -> list[dict[str, Any]]:
    """Content blocks in the order Claude produces them: thinking, text, tool uses."""
    blocks: list[dict[str, Any]] = []
    if reply.thinking:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": _SIGNATURE})
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for i, call in enumerate(reply.tool_calls):
        blocks.append({"type": "tool_use", "id": ctx.tool_id("toolu", i, call), "name": call.name,
                       "input": call.arguments})
    return blocks


def render_json(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """A complete non-streaming ``message`` object."""
    return {
        "id": f"msg_fake{ctx.seq:04d}", "type": "message", "role": "assistant", "model": ctx.model,
        "content": _blocks(reply, ctx), "stop_reason": anthropic_stop_reason(reply),
        "stop_sequence": None, "usage": _usage(ctx),
    }


def _block_events(index: int, block: dict[str, Any], reply: Reply) -> list[bytes]:
    """start / deltas / stop for one content block."""
    def delta(d: dict[str, Any]) -> bytes:
        return sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")

    kind = block["type"]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [delta({"type": "thinking_delta", "thinking": p})
                  for p in split_text(block["thinking"], reply.chunk_size)]
        deltas.append(delta({"type": "signature_delta", "signature": block["signature"]}))
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [delta({"type": "text_delta", "text": p}) for p in split_text(block["text"], reply.chunk_size)]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        args = arguments_json(block["input"])
        deltas = [delta({"type": "input_json_delta", "partial_json": ""})]
        deltas += [delta({"type": "input_json_delta", "partial_json": p})
                   for p in split_arguments(args, reply.chunk_size)]
    return [sse({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start"),
            *deltas,
            sse({"type": "content_block_stop", "index": index}, "content_block_stop")]


def render_stream(reply: Reply, ctx: RenderContext) -> list[bytes]:
    """Every SSE event of a streamed answer, in Anthropic's order (one event = one chunk)."""
    start_usage = {**_usage(ctx), "output_tokens": 1}  # Anthropic reports 1 here, the total at the end
    frames = [
        sse({"type": "message_start", "message": {
            "id": f"msg_fake{ctx.seq:04d}", "type": "message", "role": "assistant", "model": ctx.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}},
            "message_start"),
        sse({"type": "ping"}, "ping"),
    ]
    for index, block in enumerate(_blocks(reply, ctx)):
        frames += _block_events(index, block, reply)
    frames.append(sse({"type": "message_delta",
                       "delta": {"stop_reason": anthropic_stop_reason(reply), "stop_sequence": None},
                       "usage": {"output_tokens": ctx.completion_tokens}}, "message_delta"))
    frames.append(sse({"type": "message_stop"}, "message_stop"))
    return frames
