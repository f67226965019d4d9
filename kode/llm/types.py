"""What the agent loop sends to a model and what comes back, in kode's own terms.

Provider chunks never leave `kode.llm`: the adapter turns them into these few types, so the core
depends on a small port (`ModelPort`) that a scripted test double can implement as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from kode.protocol.common import ErrorInfo, ToolCallInfo, Usage


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    """OpenAI chat format; litellm translates it for every other provider."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    api_base: str | None = None
    api_key: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None


@dataclass(slots=True, frozen=True)
class TextChunk:
    text: str


@dataclass(slots=True, frozen=True)
class ThinkingChunk:
    text: str


@dataclass(slots=True, frozen=True)
class Completed:
    """The model finished cleanly. Tool calls appear only here, never from a broken stream."""

    text: str
    thinking: str
    tool_calls: list[ToolCallInfo]
    finish_reason: str | None
    usage: Usage
    model: str


@dataclass(slots=True, frozen=True)
class RetryNotice:
    """The attempt failed in a retryable way; everything streamed since the last notice is void."""

    attempt: int
    max_attempts: int
    delay: float
    error: ErrorInfo


ModelDelta = TextChunk | ThinkingChunk | Completed | RetryNotice


class ModelPort(Protocol):
    """One model call, streamed. Ends with exactly one `Completed`, or raises `LLMError`."""

    def stream(self, request: ChatRequest) -> AsyncIterator[ModelDelta]: ...
