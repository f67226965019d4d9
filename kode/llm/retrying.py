"""The single retry loop around a model call.

A retryable failure (429, 5xx, overloaded, timeout, reset, a stream that broke or stalled after
HTTP 200) is retried with backoff until `max_attempts`; before waiting, a `RetryNotice` is
yielded so the session can tell clients and void the partial message. Non-retryable failures
(auth, bad request, context too long, spend limit) are raised at once: zero retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from kode.llm.errors import LLMError
from kode.llm.retry import RetryPolicy
from kode.llm.types import ChatRequest, ModelDelta, ModelPort, RetryNotice


class RetryingModel:
    def __init__(
        self,
        port: ModelPort,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.port = port
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    def context_window(self, model: str) -> int | None:
        window = getattr(self.port, "context_window", None)
        return window(model) if window is not None else None

    async def stream(self, request: ChatRequest) -> AsyncIterator[ModelDelta]:
        attempt = 0
        while True:
            attempt += 1
            try:
                async for delta in self.port.stream(request):
                    yield delta
                return
            except LLMError as err:
                if not err.info.retryable or not self.policy.should_retry(attempt, err.retry_after):
                    if err.info.retryable and attempt > 1:
                        err.info = err.info.model_copy(
                            update={"message": f"{err.info.message} (gave up after {attempt} attempts)"}
                        )
                    raise
                delay = self.policy.delay(attempt, err.retry_after)
                yield RetryNotice(attempt=attempt, max_attempts=self.policy.max_attempts, delay=delay, error=err.info)
                await self._sleep(delay)
