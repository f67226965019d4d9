"""Error classification, Retry-After parsing, backoff, API-key checks and tool-call assembly."""

from __future__ import annotations

import random

import pytest

from kode.llm.assemble import MessageAssembler
from kode.llm.errors import classify, parse_retry_after
from kode.llm.keys import PLACEHOLDER_KEY, resolve_api_key
from kode.llm.retry import RetryPolicy
from kode.protocol.common import ErrorKind


class _Response:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status_code = status
        self.headers = headers


def _exc(name: str, message: str = "boom", status: int | None = None, headers: dict[str, str] | None = None) -> Exception:
    cls = type(name, (Exception,), {})
    exc = cls(message)
    if status is not None:
        exc.status_code = status  # type: ignore[attr-defined]
        exc.response = _Response(status, headers or {})  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("name", "status", "message", "kind", "retryable"),
    [
        ("RateLimitError", 429, "slow down", ErrorKind.RATE_LIMIT, True),
        ("RateLimitError", 429, "You exceeded your current quota (insufficient_quota)", ErrorKind.SPEND_LIMIT, False),
        ("InternalServerError", 500, "oops", ErrorKind.SERVER, True),
        ("ServiceUnavailableError", 503, "down", ErrorKind.SERVER, True),
        ("APIError", 529, "Overloaded", ErrorKind.OVERLOADED, True),
        ("AuthenticationError", 401, "bad key", ErrorKind.AUTH, False),
        ("BadRequestError", 400, "invalid", ErrorKind.BAD_REQUEST, False),
        ("ContextWindowExceededError", 400, "too long", ErrorKind.CONTEXT_TOO_LONG, False),
        ("BadRequestError", 400, "prompt is too long: 300000 tokens", ErrorKind.CONTEXT_TOO_LONG, False),
        ("BadRequestError", 400, "Your credit balance is too low", ErrorKind.SPEND_LIMIT, False),
        ("NotFoundError", 404, "no such model", ErrorKind.NOT_FOUND, False),
        ("Timeout", None, "timed out", ErrorKind.TIMEOUT, True),
        ("APIConnectionError", None, "Connection reset by peer", ErrorKind.CONNECTION, True),
        ("InternalServerError", 500, "Connection error.", ErrorKind.CONNECTION, True),
    ],
)
def test_classification(name: str, status: int | None, message: str, kind: ErrorKind, retryable: bool) -> None:
    err = classify(_exc(name, message, status))
    assert err.info.kind is kind
    assert err.info.retryable is retryable
    assert err.info.status_code == status


def test_retry_after_from_headers() -> None:
    err = classify(_exc("RateLimitError", "x", 429, {"Retry-After": "7"}))
    assert err.retry_after == 7
    err = classify(_exc("RateLimitError", "x", 429, {"retry-after-ms": "1500"}))
    assert err.retry_after == 1.5


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None


def test_backoff_grows_is_jittered_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_initial=1, backoff_max=8)
    rng = random.Random(1)
    delays = [policy.delay(n, rng=rng) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(8, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert policy.delay(1, retry_after=12) == 12
    assert policy.should_retry(4, None) and not policy.should_retry(5, None)
    assert not policy.should_retry(1, retry_after=3600), "an hour's wait is a failure, not a retry"


def test_api_key_resolution() -> None:
    assert resolve_api_key("anthropic/claude", None, None, {})[1].startswith("No API key for anthropic")
    assert resolve_api_key("anthropic/claude", None, None, {"ANTHROPIC_API_KEY": "k"}) == (None, None)
    assert resolve_api_key("openai/gpt-4o", "explicit", None, {}) == ("explicit", None)
    assert resolve_api_key("openai/local", None, "http://127.0.0.1:8000/v1", {}) == (PLACEHOLDER_KEY, None)
    assert resolve_api_key("ollama/llama3", None, None, {}) == (None, None)


def test_assembler_keeps_interleaved_tool_calls_apart() -> None:
    asm = MessageAssembler()
    asm.add_tool_fragment(0, "c0", "read_file", '{"pa')
    asm.add_tool_fragment(1, "c1", "grep", '{"pattern"')
    asm.add_tool_fragment(0, None, None, 'th": "a"}')
    asm.add_tool_fragment(1, None, None, ': "x"}')
    assert not asm.finished
    asm.finish_reason = "tool_calls"
    calls = asm.tool_calls()
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("c0", "read_file", '{"path": "a"}'),
        ("c1", "grep", '{"pattern": "x"}'),
    ]
