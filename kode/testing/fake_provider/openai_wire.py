"""OpenAI chat-completions wire format: bodies, SSE chunks and error shapes.

Shapes copy what api.openai.com sends (including the ``usage: null`` on every chunk when
``stream_options.include_usage`` is set, and the final ``choices: []`` usage chunk), because
the OpenAI SDK and litellm key their behaviour on exactly these details.
"""

from __future__ import annotations

import time
from typing import Any

from .common import (
    RenderContext,
    arguments_json,
    estimate_thinking_tokens,
    openai_finish_reason,
    split_arguments,
    split_text,
    sse,
)
from .model import Fault, Reply

API = "openai"
_FINGERPRINT = "fp_fake0000"

# status -> (type, code, message): what OpenAI answers for each status we are asked to fake.
_STATUS_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key",
          "Incorrect API key provided: sk-test. You can find your API key at "
          "https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
          "Limit 3, Used 3, Requested 1. Please try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
    529: ("server_error", None, "Overloaded"),
}
_PRESETS: dict[str, tuple[int, str, str | None, str]] = {
    "context_too_long": (400, "invalid_request_error", "context_length_exceeded",
                         "This model's maximum context length is 128000 tokens. However, your messages "
                         "resulted in 131072 tokens. Please reduce the length of the messages."),
    "spend_limit": (429, "insufficient_quota", "insufficient_quota",
                    "You exceeded your current quota, please check your plan and billing details. "
                    "For more information on this error, read the docs: "
                    "https://platform.openai.com/docs/guides/error-codes/api-errors."),
    "auth": (401, *_STATUS_DEFAULTS[401]),
}


def http_error(fault: Fault) -> tuple[int, dict[str, Any]]:
    """Status and ``{"error": {message, type, param, code}}`` body for a status fault."""
    if fault.preset:
        status, etype, code, message = _PRESETS[fault.preset]
    else:
        status = fault.code or 500
        etype, code, message = _STATUS_DEFAULTS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}"))
    error = {
        "message": fault.message or message,
        "type": fault.error_type or etype,
        "param": "messages" if fault.preset == "context_too_long" else None,
        "code": fault.error_code or code,
    }
    return status, {"error": error}


def inline_error(fault: Fault) -> dict[str, Any]:
    """The ``{"error": ...}`` object OpenAI sends when a request fails after the 200."""
    return {"error": {
        "message": fault.message or "The server had an error while processing your request. Sorry about that!",
        "type": fault.error_type or "server_error",
        "param": None,
        "code": fault.error_code,
    }}


def stream_error(fault: Fault) -> bytes:
    """The ``data: {"error": ...}`` line OpenAI emits when a stream fails mid-way."""
    return sse(inline_error(fault))


def _usage(ctx: RenderContext, reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": ctx.prompt_tokens,
        "completion_tokens": ctx.completion_tokens,
        "total_tokens": ctx.prompt_tokens + ctx.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": estimate_thinking_tokens(reply),
                                      "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def render_json(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """A complete non-streaming ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.thinking:
        message["reasoning_content"] = reply.thinking
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": ctx.tool_id("call", i, call), "type": "function",
             "function": {"name": call.name, "arguments": arguments_json(call.arguments)}}
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": f"chatcmpl-fake{ctx.seq:04d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ctx.model,
        "system_fingerprint": _FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": openai_finish_reason(reply)}],
        "usage": _usage(ctx, reply),
    }


def render_stream(reply: Reply, ctx: RenderContext) -> list[bytes]:
    """Every SSE frame of a streamed answer, ``data: [DONE]`` included (one frame = one chunk)."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": f"chatcmpl-fake{ctx.seq:04d}", "object": "chat.completion.chunk", "created": created,
            "model": ctx.model, "system_fingerprint": _FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if ctx.include_usage:
            body["usage"] = None
        return sse(body)

    frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
    frames += [chunk({"reasoning_content": piece}) for piece in split_text(reply.thinking, reply.chunk_size)]
    frames += [chunk({"content": piece}) for piece in split_text(reply.text, reply.chunk_size)]
    for i, call in enumerate(reply.tool_calls):
        frames.append(chunk({"tool_calls": [{
            "index": i, "id": ctx.tool_id("call", i, call), "type": "function",
            "function": {"name": call.name, "arguments": ""}}]}))
        for piece in split_arguments(arguments_json(call.arguments), reply.chunk_size):
            frames.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    frames.append(chunk({}, openai_finish_reason(reply)))
    if ctx.include_usage:
        frames.append(sse({
            "id": f"chatcmpl-fake{ctx.seq:04d}", "object": "chat.completion.chunk", "created": created,
            "model": ctx.model, "system_fingerprint": _FINGERPRINT, "choices": [],
            "usage": _usage(ctx, reply),
        }))
    frames.append(sse("[DONE]"))
    return frames
