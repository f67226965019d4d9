"""Token bursts become fewer deltas; nothing is held back longer than the interval."""

from __future__ import annotations

import asyncio

from kode.core.coalesce import DeltaCoalescer


async def test_a_burst_is_merged_and_the_rest_sent_by_the_timer() -> None:
    sent: list[str] = []
    deltas = DeltaCoalescer(sent.append, interval=0.05)
    for token in ["a", "b", "c", "d"]:
        deltas.add(token)
    assert sent == ["a"], "the first token goes at once; the burst after it is held"
    await asyncio.sleep(0.08)
    assert sent == ["a", "bcd"], "held text is sent when the interval passes, with no new token"


async def test_flush_sends_held_text_before_other_events_and_discard_drops_it() -> None:
    sent: list[str] = []
    deltas = DeltaCoalescer(sent.append, interval=10)
    deltas.add("x")
    deltas.add("y")
    deltas.flush()
    assert sent == ["x", "y"]
    deltas.add("z")
    deltas.discard()
    await asyncio.sleep(0.01)
    assert sent == ["x", "y"]


async def test_five_hundred_tokens_a_second_become_about_fifty_deltas() -> None:
    sent: list[str] = []
    deltas = DeltaCoalescer(sent.append, interval=0.02)
    for i in range(250):  # half a second at 500 tokens/s
        deltas.add(f"{i} ")
        await asyncio.sleep(0.002)
    deltas.flush()
    assert "".join(sent) == "".join(f"{i} " for i in range(250))
    assert len(sent) <= 40, len(sent)
