"""A `ModelPort` that plays back scripted replies in-process and records every request.

For fast tests of the agent loop (and the loop-overhead benchmark) with no HTTP and no litellm.
End-to-end tests use the real litellm client against `kode.testing.fake_provider` instead.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest, Completed, ModelDelta, TextChunk
from kode.protocol.common import ToolCallInfo, Usage, new_id


@dataclass(slots=True)
class Step:
    """One scripted model reply: text, tool calls as (name, arguments) pairs, or an error."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: LLMError | None = None
    delay: float = 0.0
    """Seconds to wait before each chunk (to test cancellation mid-stream)."""
    chunks: int = 1


class ScriptedModel:
    def __init__(self, *steps: Step, default: Callable[[ChatRequest], Step] | None = None) -> None:
        self.steps: deque[Step] = deque(steps)
        self.default = default
        self.requests: list[ChatRequest] = []

    def add(self, *steps: Step) -> None:
        self.steps.extend(steps)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ModelDelta]:
        self.requests.append(request)
        if self.steps:
            step = self.steps.popleft()
        elif self.default is not None:
            step = self.default(request)
        else:
            raise AssertionError("ScriptedModel ran out of steps")
        if step.error is not None:
            raise step.error
        size = max(1, -(-len(step.text) // max(1, step.chunks)))
        for start in range(0, len(step.text), size):
            if step.delay:
                await asyncio.sleep(step.delay)
            yield TextChunk(step.text[start : start + size])
        calls = [ToolCallInfo(id=new_id("call"), name=name, arguments=json.dumps(args)) for name, args in step.tool_calls]
        yield Completed(
            text=step.text,
            thinking="",
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=Usage(input_tokens=10, output_tokens=max(1, len(step.text) // 4)),
            model=request.model,
        )
