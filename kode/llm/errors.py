"""Classifying provider failures: what happened, whether to retry, what the user can do.

litellm raises OpenAI-SDK-shaped exceptions for every provider. We classify by class name and
status code (not by importing the classes), so this module stays cheap and also copes with the
plain `httpx`/`asyncio` errors that escape litellm on broken connections.
"""

from __future__ import annotations

import email.utils
import re
import time

from kode.protocol.common import ErrorInfo, ErrorKind

RETRYABLE = {
    ErrorKind.RATE_LIMIT,
    ErrorKind.OVERLOADED,
    ErrorKind.SERVER,
    ErrorKind.TIMEOUT,
    ErrorKind.CONNECTION,
    ErrorKind.STREAM,
}


class LLMError(Exception):
    """A classified model-call failure."""

    def __init__(self, info: ErrorInfo, *, retry_after: float | None = None) -> None:
        super().__init__(info.message)
        self.info = info
        self.retry_after = retry_after

    @classmethod
    def make(
        cls,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> LLMError:
        info = ErrorInfo(
            kind=kind, message=message, retryable=kind in RETRYABLE, status_code=status_code, hint=hint
        )
        return cls(info, retry_after=retry_after)


_SPEND_MARKERS = ("insufficient_quota", "exceeded your current quota", "credit balance", "budget", "billing")
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "prompt is too long",
    "maximum context",
    "too many tokens",
)
_CONNECTION_MARKERS = ("connection error", "connection refused", "name or service not known", "connection reset")
_HINTS = {
    ErrorKind.AUTH: "Check the API key: set the provider's variable (e.g. OPENAI_API_KEY) or KODE_API_KEY.",
    ErrorKind.SPEND_LIMIT: "The provider account is out of credit or over its spending limit.",
    ErrorKind.CONTEXT_TOO_LONG: "The conversation is longer than the model's context window.",
    ErrorKind.NOT_FOUND: "Check the model name (`--model provider/name`) and the API base URL.",
    ErrorKind.CONNECTION: "Check the network and the API base URL.",
}


def _status_code(exc: BaseException) -> int | None:
    for attr in ("status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _headers_of(exc: BaseException) -> dict[str, str]:
    headers: dict[str, str] = {}
    for source in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None), "headers", None)):
        if source is None:
            continue
        try:
            headers.update({str(k).lower(): str(v) for k, v in dict(source).items()})
        except (TypeError, ValueError):
            continue
    return headers


def retry_after_of(exc: BaseException) -> float | None:
    headers = _headers_of(exc)
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _kind_for(name: str, status: int | None, text: str) -> ErrorKind:
    lowered = text.lower()
    if "MidStreamFallback" in name:  # litellm's wrapper for any failure after the stream began
        return ErrorKind.STREAM
    if "ContextWindowExceeded" in name or any(m in lowered for m in _CONTEXT_MARKERS):
        return ErrorKind.CONTEXT_TOO_LONG
    if "BudgetExceeded" in name or any(m in lowered for m in _SPEND_MARKERS):
        return ErrorKind.SPEND_LIMIT
    if "Authentication" in name or "PermissionDenied" in name or status in (401, 403):
        return ErrorKind.AUTH
    if "RateLimit" in name or status == 429:
        return ErrorKind.RATE_LIMIT
    if status == 529 or "overloaded" in lowered:
        return ErrorKind.OVERLOADED
    if "NotFound" in name or status == 404:
        return ErrorKind.NOT_FOUND
    if "Timeout" in name or status in (408, 504):
        return ErrorKind.TIMEOUT
    if any(m in lowered for m in _CONNECTION_MARKERS):  # litellm reports these as a 500
        return ErrorKind.CONNECTION
    if status is not None and status >= 500:
        return ErrorKind.SERVER
    if "ServiceUnavailable" in name or "InternalServer" in name:
        return ErrorKind.SERVER
    if "BadRequest" in name or "UnprocessableEntity" in name or "ContentPolicy" in name or status in (400, 413, 422):
        return ErrorKind.BAD_REQUEST
    if "Connection" in name or "RemoteProtocol" in name or "ReadError" in name or "Reset" in name:
        return ErrorKind.CONNECTION
    if "MidStream" in name or "Stream" in name or "APIError" in name:
        return ErrorKind.STREAM
    return ErrorKind.INTERNAL


_PREFIX = re.compile(r"^(?:litellm\.)?\w+(?:Error|Exception)(?::| -)\s*")


def _short_message(exc: BaseException) -> str:
    """litellm stacks prefixes (`litellm.XError: XError: OpenAIException - …`); keep the message."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    while (stripped := _PREFIX.sub("", text, count=1)) != text and stripped:
        text = stripped
    return text[:500]


def classify(exc: BaseException, *, streaming_started: bool = False) -> LLMError:
    """Turn any exception from a model call into a classified `LLMError`."""
    if isinstance(exc, LLMError):
        return exc
    name = type(exc).__name__
    status = _status_code(exc)
    body = getattr(exc, "body", None)  # OpenAI's spend limit is a 429 told apart only by its body
    kind = _kind_for(name, status, f"{exc} {body or ''}")
    if streaming_started and kind in (ErrorKind.INTERNAL, ErrorKind.BAD_REQUEST) and status is None:
        kind = ErrorKind.STREAM
    return LLMError.make(
        kind, _short_message(exc), status_code=status, hint=_HINTS.get(kind), retry_after=retry_after_of(exc)
    )


def describe(info: ErrorInfo) -> str:
    """One line for humans: `rate_limit (429): message — hint`."""
    code = f" ({info.status_code})" if info.status_code else ""
    hint = f" — {info.hint}" if info.hint else ""
    return f"{info.kind.value}{code}: {info.message}{hint}"

