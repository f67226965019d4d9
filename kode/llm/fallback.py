"""A fallback chain: when a model fails after its own retries, the next one takes the request.

Only failures another provider or model could avoid move down the chain (overloaded, server
errors, rate limits and spent quotas, timeouts, dropped connections, an unknown model); a bad
request or a context that is too long would fail the same way everywhere, and a missing key is
for the user to fix. Text already streamed from the failed model is discarded the same way a
retry discards it (a RetryNotice), so clients never show two answers glued together.

kode's own chain rather than litellm's Router: the single retry loop, the error classification
and the events clients already understand stay one mechanism.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest, ModelDelta, ModelPort, RetryNotice
from kode.protocol.common import ErrorKind

FALLBACK_KINDS = frozenset(
    {
        ErrorKind.OVERLOADED,
        ErrorKind.SERVER,
        ErrorKind.RATE_LIMIT,
        ErrorKind.SPEND_LIMIT,
        ErrorKind.TIMEOUT,
        ErrorKind.CONNECTION,
        ErrorKind.STREAM,
        ErrorKind.NOT_FOUND,
    }
)


class FallbackModel:
    def __init__(self, port: ModelPort, fallbacks: Sequence[str] = ()) -> None:
        self.port = port
        self.fallbacks = [model for model in fallbacks if model]

    def context_window(self, model: str) -> int | None:
        window = getattr(self.port, "context_window", None)
        return window(model) if window is not None else None

    async def stream(self, request: ChatRequest) -> AsyncIterator[ModelDelta]:
        chain = [request.model, *(m for m in self.fallbacks if m != request.model)]
        for index, model in enumerate(chain):
            try:
                async for delta in self.port.stream(replace(request, model=model)):
                    yield delta
                return
            except LLMError as err:
                if err.info.kind not in FALLBACK_KINDS or index == len(chain) - 1:
                    raise
                following = chain[index + 1]
                info = err.info.model_copy(update={"message": f"{model} failed ({err.info.message}); trying {following}"})
                yield RetryNotice(attempt=index + 1, max_attempts=len(chain), delay=0.0, error=info)
