"""The durable event log: exact round trips, idempotent appends, conflicts, totals."""

from __future__ import annotations

import pytest
from sample_events import conversation, user_message

from kode.core.event_log import EventLog
from kode.protocol import dump_event
from kode.protocol import events as ev
from kode.protocol.common import Usage
from kode.protocol.events import Event
from kode.store import SeqConflict, SessionNotFound, Store


async def test_events_round_trip_exactly(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m-1")
    events = conversation("ses_a", turns=2)
    assert await store.append_events("ses_a", events) == len(events)

    loaded = await store.load_events("ses_a")

    assert [dump_event(e) for e in loaded] == [dump_event(e) for e in events]
    assert await store.load_event_json("ses_a") == [dump_event(e) for e in events]
    since = events[10].seq
    assert [e.seq for e in await store.load_events("ses_a", since=since)] == [e.seq for e in events[11:]]


async def test_totals_count_each_model_call_once(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m-0")
    events = conversation("ses_a", turns=3)
    for event in events:  # one transaction per event, as the persist hook does it
        await store.append_events("ses_a", [event])

    record = await store.get_session("ses_a")

    # Two message_completed per turn, each 100 in / 20 out / 5 cached / $0.0012;
    # turn_finished and subagent_finished repeat those sums and are not added again.
    assert (record.input_tokens, record.output_tokens, record.cache_read_tokens) == (600, 120, 30)
    assert record.cost_usd == pytest.approx(0.0072)
    assert record.event_count == len(events)
    assert record.last_seq == events[-1].seq
    assert record.model == "m-2"  # followed settings_changed
    assert record.usage.input_tokens == 600
    assert (await store.list_sessions())[0].output_tokens == 120


async def test_reappending_the_same_events_is_a_no_op(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    events = conversation("ses_a")
    await store.append_events("ses_a", events[:5])
    before = await store.get_session("ses_a")

    assert await store.append_events("ses_a", events[:5]) == 0
    assert await store.append_events("ses_a", events[3:8]) == 3  # overlap: only the new ones count

    after = await store.get_session("ses_a")
    assert after.event_count == 8
    assert after.input_tokens == before.input_tokens  # events[3] (a model call) not counted twice
    assert [dump_event(e) for e in await store.load_events("ses_a")] == [dump_event(e) for e in events[:8]]


async def test_a_different_event_at_a_stored_seq_is_refused_whole(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    await store.append_events("ses_a", [user_message("ses_a", 1, "mine")])

    with pytest.raises(SeqConflict, match="seq 1"):
        await store.append_events("ses_a", [user_message("ses_a", 1, "theirs"), user_message("ses_a", 2)])

    stored = await store.load_events("ses_a")
    assert [(e.seq, e.text) for e in stored if isinstance(e, ev.UserMessage)] == [(1, "mine")]
    assert len(stored) == 1
    assert (await store.get_session("ses_a")).event_count == 1


async def test_bad_batches_are_rejected_before_writing(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    delta = ev.TextDelta(session_id="ses_a", seq=1, message_id="m", text="t")
    with pytest.raises(ValueError, match="live-only"):
        await store.append_events("ses_a", [delta])
    with pytest.raises(ValueError, match="session"):
        await store.append_events("ses_a", [user_message("ses_b", 1)])
    with pytest.raises(ValueError, match="increasing"):
        await store.append_events("ses_a", [user_message("ses_a", 2), user_message("ses_a", 2)])
    assert await store.load_events("ses_a") == []


async def test_unknown_sessions(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        await store.append_events("ses_nope", [user_message("ses_nope", 1)])
    with pytest.raises(SessionNotFound):
        await store.load_events("ses_nope")


async def test_a_big_batch_in_one_call(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    batch = [user_message("ses_a", seq) for seq in range(1, 2001)]
    assert await store.append_events("ses_a", batch) == 2000
    record = await store.get_session("ses_a")
    assert (record.event_count, record.last_seq) == (2000, 2000)
    assert len(await store.load_events("ses_a", since=1500)) == 500


async def test_a_resumed_event_log_continues_after_the_stored_seq(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    stored: list[Event] = []
    log = EventLog("ses_a")
    log.persist = stored.append
    log.append(ev.UserMessage(message_id="u1", text="one"))
    log.append(ev.TextDelta(message_id="m1", text="live only"))
    log.append(ev.MessageCompleted(message_id="m1", text="two"))
    await store.append_events("ses_a", stored)

    resumed = EventLog("ses_a")
    resumed.load(await store.load_events("ses_a"))

    assert resumed.last_seq == 3
    assert resumed.append(ev.UserMessage(message_id="u2", text="three")).seq == 4


async def test_totals_count_kodes_own_calls_too(store: Store) -> None:
    await store.create_session(id="ses_s", cwd="/w", model="m")
    usage = Usage(input_tokens=40, output_tokens=2, cost_usd=0.0001)
    await store.append_events("ses_s", [ev.SideCall(session_id="ses_s", seq=1, purpose="router", model="cheap", usage=usage)])
    record = await store.get_session("ses_s")
    assert (record.input_tokens, record.output_tokens) == (40, 2)
    assert record.cost_usd == pytest.approx(0.0001)
