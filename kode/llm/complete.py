"""One request's final text, for the calls whose stream nobody watches (titles, compaction
summaries, the router's classification)."""

from __future__ import annotations

from kode.llm.types import ChatRequest, Completed, ModelPort


async def complete_text(model: ModelPort, request: ChatRequest) -> str:
    """The completed message's text ("" if the stream ended without one); raises LLMError."""
    text = ""
    async for delta in model.stream(request):
        if isinstance(delta, Completed):
            text = delta.text
    return text
