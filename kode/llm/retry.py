"""Backoff for retryable model-call failures: exponential with full jitter, Retry-After honoured.

There is exactly one retry loop (in `RetryingModel`); litellm and the provider SDKs are told
not to retry, so attempts never stack (4 of ours × 3 of theirs would be 12 requests).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    """Total attempts per model call, including the first."""
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    retry_after_cap: float = 300.0
    """A server asking us to wait longer than this is treated as a hard failure, not a wait."""

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        if retry_after is not None and retry_after > 0:
            return retry_after  # the server knows when it will take us back
        return (rng or random).uniform(ceiling / 2, ceiling)

    def should_retry(self, attempt: int, retry_after: float | None) -> bool:
        if attempt >= self.max_attempts:
            return False
        return retry_after is None or retry_after <= self.retry_after_cap
