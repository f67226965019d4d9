"""Show the SSE events a reply becomes, so a test can pick ``after_chunks`` for a fault exactly.

Fault positions count *events* (one OpenAI ``data:`` line -- the initial role chunk and
``[DONE]`` included -- or one Anthropic event, ``message_start`` and ``ping`` included), and
that layout is easy to miscount by hand: ``stream_events(reply, "anthropic")`` lists it.
"""

from __future__ import annotations

from .common import make_context
from .handler import WIRES
from .model import Api, Reply


def stream_events(reply: Reply, api: Api, *, include_usage: bool = True, model: str = "fake-model") -> list[str]:
    """The events the server would stream for ``reply`` (faults ignored), as decoded text."""
    body = {"model": model, "messages": [], "stream": True,
            "stream_options": {"include_usage": include_usage}}
    ctx = make_context(reply, body, seq=1, default_model=model)
    return [frame.decode() for frame in WIRES[api].render_stream(reply, ctx)]
