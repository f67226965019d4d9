"""The text renderer shows a completed message in full even when its last deltas were folded."""

from __future__ import annotations

import io

from kode.protocol import events as ev
from kode.render.text import TextRenderer


def test_text_folded_into_the_completion_is_still_printed() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = TextRenderer(out, err, show_tools=False)
    renderer.event(ev.TextDelta(message_id="m", text="Hello "))
    # the log folded the remaining deltas: the reader gets the completion directly
    renderer.event(ev.MessageCompleted(message_id="m", text="Hello from the model."))
    renderer.event(ev.MessageCompleted(message_id="n", text="Second message, no deltas at all."))
    renderer.finish(None, session_id="s")
    assert out.getvalue() == "Hello from the model.\nSecond message, no deltas at all.\n"
