"""The only package that knows providers. litellm is imported lazily by `litellm_adapter`."""

from kode.llm.errors import LLMError, classify
from kode.llm.retry import RetryPolicy
from kode.llm.retrying import RetryingModel
from kode.llm.types import (
    ChatRequest,
    Completed,
    ModelDelta,
    ModelPort,
    RetryNotice,
    TextChunk,
    ThinkingChunk,
)

__all__ = [
    "ChatRequest",
    "Completed",
    "LLMError",
    "ModelDelta",
    "ModelPort",
    "RetryNotice",
    "RetryPolicy",
    "RetryingModel",
    "TextChunk",
    "ThinkingChunk",
    "classify",
]
