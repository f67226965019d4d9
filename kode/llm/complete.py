"""One request's completed message, for the calls whose stream nobody watches (titles,
compaction summaries, the router's classification)."""

from __future__ import annotations

from kode.llm.errors import LLMError
from kode.llm.types import ChatRequest, Completed, ModelPort
from kode.protocol.common import ErrorKind
from kode.protocol.events import SideCall, SideCallPurpose


async def complete(model: ModelPort, request: ChatRequest) -> Completed:
    """The completed message, with its usage; raises LLMError, also for a stream that ended
    without one. The stream is read to its end, so the connection is released."""
    done: Completed | None = None
    async for delta in model.stream(request):
        if isinstance(delta, Completed):
            done = delta
    if done is None:
        raise LLMError.make(ErrorKind.STREAM, "the stream ended before the message was complete")
    return done


def side_call(purpose: SideCallPurpose, done: Completed) -> SideCall:
    """The event that bills `done`: usage and spending count it like a conversation's call."""
    return SideCall(purpose=purpose, model=done.model, usage=done.usage)
