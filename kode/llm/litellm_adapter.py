"""The one module that imports litellm: a single streamed attempt, in kode's own deltas.

litellm costs ~3.5 s and ~177 MB to import, so it is imported on the first call, never at
module import. It is configured to use its bundled cost map (no network fetch at import), to drop
parameters a provider does not support, and never to retry on its own: `RetryingModel` owns
retries, so attempts do not stack.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from kode import timings
from kode.llm.assemble import MessageAssembler
from kode.llm.errors import LLMError, classify
from kode.llm.types import ChatRequest, Completed, ModelDelta, TextChunk, ThinkingChunk
from kode.protocol.common import ErrorKind, Usage

_litellm: Any = None


def load_litellm() -> Any:
    """Import and configure litellm once (slow: call it off the UI's critical path)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm

        litellm.suppress_debug_info = True
        litellm.drop_params = True
        litellm.telemetry = False
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        _litellm = litellm
        timings.mark("litellm_import")
    return _litellm


def cost_of(model: str, usage: Usage) -> float:
    """USD for one call from litellm's price table; 0.0 for models it does not price."""
    litellm = load_litellm()
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens
        )
    except Exception:  # unknown model or provider: litellm raises a generic Exception
        return 0.0
    return round(float(prompt) + float(completion), 10)


def _usage_of(raw: Any) -> Usage | None:
    if raw is None:
        return None
    details = getattr(raw, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(
        input_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        cache_read_tokens=int(cached),
    )


class LiteLLMModel:
    """`ModelPort` over `litellm.acompletion(stream=True)`; one attempt per `stream` call."""

    def __init__(self, *, idle_timeout: float = 60.0, request_timeout: float = 600.0) -> None:
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout

    def context_window(self, model: str) -> int | None:
        """Input tokens `model` accepts, from litellm's model map (None when it does not know)."""
        litellm = load_litellm()
        try:
            info = litellm.get_model_info(model)
        except Exception:  # noqa: BLE001 - unknown models are common (proxies, local servers)
            return None
        window = info.get("max_input_tokens") or info.get("max_tokens")
        return int(window) if window else None

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": self.request_timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if request.tools:
            kwargs["tools"] = request.tools
        if request.api_base:
            kwargs["api_base"] = request.api_base
        if request.api_key:
            kwargs["api_key"] = request.api_key
        if request.max_output_tokens:
            kwargs["max_tokens"] = request.max_output_tokens
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        return kwargs

    async def stream(self, request: ChatRequest) -> AsyncIterator[ModelDelta]:
        litellm = load_litellm()
        try:
            async with asyncio.timeout(self.request_timeout):
                response = await litellm.acompletion(**self._kwargs(request))
        except TimeoutError:
            raise LLMError.make(ErrorKind.TIMEOUT, f"no response within {self.request_timeout:g}s") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise classify(exc) from exc

        timings.mark("request")
        assembler = MessageAssembler()
        try:
            async for delta in self._read(response, assembler):
                yield delta
        finally:
            await _close(response)

        if not assembler.finished or not _provider_finished(response):
            raise LLMError.make(ErrorKind.STREAM, "the stream ended before the model finished its message")
        timings.mark("stream")
        usage = assembler.usage or Usage()
        usage = usage.model_copy(update={"cost_usd": cost_of(request.model, usage)})
        yield Completed(
            text=assembler.full_text(),
            thinking=assembler.full_thinking(),
            tool_calls=assembler.tool_calls(),
            finish_reason=assembler.finish_reason,
            usage=usage,
            model=request.model,
        )

    async def _read(self, response: Any, assembler: MessageAssembler) -> AsyncIterator[ModelDelta]:
        iterator = response.__aiter__()
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives as a chunk does, and the turn would ignore Ctrl-C.
                async with asyncio.timeout(self.idle_timeout):
                    chunk = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise LLMError.make(
                    ErrorKind.STREAM, f"the stream stalled: no data for {self.idle_timeout:g}s"
                ) from None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise classify(exc, streaming_started=True) from exc
            for delta in _deltas_of(chunk, assembler):
                yield delta


def _deltas_of(chunk: Any, assembler: MessageAssembler) -> list[ModelDelta]:
    out: list[ModelDelta] = []
    usage = _usage_of(getattr(chunk, "usage", None))
    if usage is not None and (usage.input_tokens or usage.output_tokens):
        assembler.usage = usage
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if delta is not None:
            thinking = getattr(delta, "reasoning_content", None)
            if thinking:
                assembler.add_thinking(thinking)
                out.append(ThinkingChunk(thinking))
            text = getattr(delta, "content", None)
            if text:
                assembler.add_text(text)
                out.append(TextChunk(text))
            for call in getattr(delta, "tool_calls", None) or []:
                function = getattr(call, "function", None)
                assembler.add_tool_fragment(
                    getattr(call, "index", 0) or 0,
                    getattr(call, "id", None),
                    getattr(function, "name", None),
                    getattr(function, "arguments", None),
                )
        if getattr(choice, "finish_reason", None):
            assembler.finish_reason = choice.finish_reason
    return out


def _provider_finished(response: Any) -> bool:
    """Did the provider itself send a finish reason?

    When a stream ends without one (the connection was cut cleanly), litellm appends a synthetic
    `finish_reason="stop"` chunk, which would make a half-received tool call look complete. Its
    stream wrapper records what the provider really sent; when that record is missing (another
    wrapper), trust the finish reason we saw.
    """
    if not hasattr(response, "received_finish_reason"):
        return True
    return (
        getattr(response, "received_finish_reason", None) is not None
        or getattr(response, "intermittent_finish_reason", None) is not None
    )


async def _close(response: Any) -> None:
    """Close the HTTP stream so a cancelled or failed call frees its connection at once."""
    closer = getattr(response, "aclose", None)
    if closer is None:
        return
    try:
        async with asyncio.timeout(2):
            await closer()
    except Exception:  # closing is best effort; the original outcome is what matters
        pass
