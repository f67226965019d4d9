"""The event log: seq numbering, replay since N, live following, deltas folded, lag reported."""

from __future__ import annotations

import asyncio

from kode.core.event_log import EventLog
from kode.protocol import events as ev


async def collect(log: EventLog, since: int = 0) -> list[ev.EventBase]:
    return [e async for e in log.events(since, follow=False)]


async def test_seq_is_monotonic_and_stamped() -> None:
    log = EventLog("ses_x")
    a = log.append(ev.UserMessage(message_id="m", text="hi"))
    b = log.append(ev.TextDelta(message_id="m2", text="x"))
    assert (a.seq, b.seq) == (1, 2)
    assert a.session_id == b.session_id == "ses_x"


async def test_replay_since_and_completed_deltas_folded() -> None:
    log = EventLog("s")
    log.append(ev.UserMessage(message_id="u", text="hi"))  # 1
    log.append(ev.TextDelta(message_id="m", text="a"))  # 2
    log.append(ev.TextDelta(message_id="m", text="b"))  # 3
    log.append(ev.MessageCompleted(message_id="m", text="ab"))  # 4
    log.append(ev.TextDelta(message_id="n", text="c"))  # 5, message n still streaming
    seen = await collect(log)
    assert [e.seq for e in seen] == [1, 4, 5], "deltas of a completed message are folded into it"
    assert [e.seq for e in await collect(log, since=4)] == [5]
    assert await collect(log, since=5) == []


async def test_follow_gets_new_events_and_ends_on_close() -> None:
    log = EventLog("s")
    received: list[int] = []

    async def reader() -> None:
        async for event in log.events(0):
            received.append(event.seq)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    for i in range(5):
        log.append(ev.Warning(code="x", message=str(i)))
        await asyncio.sleep(0)
    log.close()
    await asyncio.wait_for(task, 1)
    assert received == [1, 2, 3, 4, 5]


async def test_lagging_follower_is_told_and_loses_no_durable_event() -> None:
    log = EventLog("s", live_capacity=4)
    log.append(ev.Warning(code="start", message=""))
    stream = log.events(0)
    first = await anext(stream)
    assert first.seq == 1
    for i in range(10):
        log.append(ev.TextDelta(message_id="m", text=str(i)))
    log.append(ev.Warning(code="durable", message=""))
    log.close()
    rest = [e async for e in stream]
    lagged = [e for e in rest if isinstance(e, ev.Lagged)]
    assert lagged and lagged[0].missed == 6
    assert [e.seq for e in rest if not isinstance(e, ev.Lagged)] == [8, 9, 10, 11, 12]


async def test_with_a_persist_hook_subscribers_see_only_committed_events() -> None:
    log = EventLog("s")
    written: list[int] = []
    log.persist = lambda event: written.append(event.seq)
    log.append(ev.UserMessage(message_id="u", text="hi"))  # 1, durable, pending
    log.append(ev.TextDelta(message_id="m", text="a"))  # 2, live, behind the pending event
    assert written == [1]
    assert await collect(log) == [], "nothing is shown before event 1 is committed"
    log.mark_committed(1)
    assert [e.seq for e in await collect(log)] == [1, 2]
    log.append(ev.MessageCompleted(message_id="m", text="a"))  # 3
    log.append(ev.Warning(code="w", message=""))  # 4
    log.mark_committed(3)
    assert [e.seq for e in await collect(log, since=2)] == [3]
    log.mark_committed(4)
    assert [e.seq for e in await collect(log, since=2)] == [3, 4]


async def test_a_follower_waits_for_the_commit() -> None:
    log = EventLog("s")
    log.persist = lambda event: None
    stream = log.events(0)
    log.append(ev.Warning(code="w", message=""))
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    assert not pending.done()
    log.mark_committed(1)
    assert (await asyncio.wait_for(pending, 1)).seq == 1


async def test_a_reader_moves_past_folded_deltas_while_their_completion_is_uncommitted() -> None:
    log = EventLog("s")
    log.persist = lambda event: None
    log.append(ev.TurnStarted(turn_id="t", model="m"))  # 1
    log.mark_committed(1)
    log.append(ev.TextDelta(message_id="m", text="a"))  # 2
    log.append(ev.MessageCompleted(message_id="m", text="a"))  # 3, pending: delta 2 is folded for replay
    stream = log.events(0)
    assert (await anext(stream)).seq == 1
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)  # a reader stuck re-reading seq 2 would spin here and never yield control
    assert not pending.done()
    log.mark_committed(3)
    assert (await asyncio.wait_for(pending, 1)).seq == 3


async def test_a_following_reader_gets_every_delta_even_if_it_reads_late() -> None:
    log = EventLog("s")
    stream = log.events(0)
    log.append(ev.TurnStarted(turn_id="t", model="m"))
    assert (await anext(stream)).seq == 1
    log.append(ev.TextDelta(message_id="m", text="a"))
    log.append(ev.TextDelta(message_id="m", text="b"))
    log.append(ev.MessageCompleted(message_id="m", text="ab"))  # all three before the reader runs
    assert [e.type for e in [await anext(stream) for _ in range(3)]] == ["text_delta", "text_delta", "message_completed"]
