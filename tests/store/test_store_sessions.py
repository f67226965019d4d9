"""Sessions: create, look up by prefix, list, update, delete (cascading), fork."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from sample_events import conversation, user_message

from kode.protocol import dump_event
from kode.store import (
    AmbiguousSession,
    SessionBusy,
    SessionExists,
    SessionNotFound,
    Store,
)
from kode.store.schema import events as events_table


async def test_create_and_get(store: Store) -> None:
    created = await store.create_session(id="ses_0a1b", cwd="/w", model="m", title="first")

    got = await store.get_session("ses_0a1b")

    assert got == created
    assert (got.title, got.cwd, got.model, got.status) == ("first", "/w", "m", "idle")
    assert (got.event_count, got.last_seq, got.cost_usd, got.forked_from) == (0, 0, 0.0, None)
    assert got.created_at.tzinfo is not None and got.created_at == got.updated_at
    with pytest.raises(SessionExists):
        await store.create_session(id="ses_0a1b", cwd="/x", model="m")


async def test_prefix_lookup_like_git(store: Store) -> None:
    for sid in ("ses_abc1", "ses_abd2", "sesXabc3", "ses_%z"):
        await store.create_session(id=sid, cwd="/w", model="m")

    assert (await store.get_session("ses_abc")).id == "ses_abc1"
    assert (await store.get_session("ses_abd2")).id == "ses_abd2"
    assert (await store.get_session("ses_%")).id == "ses_%z"  # % and _ are not wildcards
    with pytest.raises(AmbiguousSession) as ambiguous:
        await store.get_session("ses_ab")
    assert sorted(ambiguous.value.candidates) == ["ses_abc1", "ses_abd2"]
    assert "ses_abc1" in str(ambiguous.value)
    for missing in ("ses_x", "ses_abc1z", ""):
        with pytest.raises(SessionNotFound):
            await store.get_session(missing)


async def test_list_newest_first_filtered_by_cwd(store: Store) -> None:
    for n, cwd in enumerate(["/a", "/b", "/a", "/a"]):
        await store.create_session(id=f"ses_{n}", cwd=cwd, model="m")
    await store.append_events("ses_0", [user_message("ses_0", 1)])  # activity moves it to the top

    assert [s.id for s in await store.list_sessions()] == ["ses_0", "ses_3", "ses_2", "ses_1"]
    assert [s.id for s in await store.list_sessions(cwd="/a")] == ["ses_0", "ses_3", "ses_2"]
    assert [s.id for s in await store.list_sessions(cwd="/a", limit=2)] == ["ses_0", "ses_3"]
    latest = await store.latest_session("/b")
    assert latest is not None and latest.id == "ses_1"
    assert await store.latest_session("/nowhere") is None


async def test_update(store: Store) -> None:
    created = await store.create_session(id="ses_a", cwd="/w", model="m")

    updated = await store.update_session("ses_a", title="renamed", status="archived")
    assert (updated.title, updated.status, updated.model) == ("renamed", "archived", "m")
    assert updated.updated_at > created.updated_at
    assert (await store.update_session("ses_a", model="m2")).model == "m2"
    with pytest.raises(SessionNotFound):
        await store.update_session("ses_nope", title="x")


async def _event_rows(store: Store, session_id: str) -> int:
    async with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(events_table).where(events_table.c.session_id == session_id)
        return (await conn.execute(query)).scalar_one()


async def test_delete_cascades_to_events(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    await store.create_session(id="ses_b", cwd="/w", model="m")
    await store.append_events("ses_a", conversation("ses_a"))
    await store.append_events("ses_b", conversation("ses_b"))
    fork = await store.fork_session("ses_a", new_id="ses_f")
    assert await _event_rows(store, "ses_a") > 0

    await store.delete_session("ses_a")

    assert await _event_rows(store, "ses_a") == 0
    assert await _event_rows(store, "ses_b") == len(conversation("ses_b"))
    with pytest.raises(SessionNotFound):
        await store.get_session("ses_a")
    orphan = await store.get_session("ses_f")
    assert orphan.forked_from is None and orphan.event_count == fork.event_count
    with pytest.raises(SessionNotFound):
        await store.delete_session("ses_a")


async def test_delete_refuses_a_session_open_elsewhere(open_store: Callable[[], Awaitable[Store]]) -> None:
    mine, theirs = await open_store(), await open_store()
    await mine.create_session(id="ses_a", cwd="/w", model="m")
    lease = await theirs.acquire("ses_a", "kode tui")

    with pytest.raises(SessionBusy):
        await mine.delete_session("ses_a")
    await lease.release()
    await mine.delete_session("ses_a")


async def test_the_lease_holder_may_delete_its_session(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    lease = await store.acquire("ses_a")

    await store.delete_session("ses_a")

    assert not lease.held
    with pytest.raises(SessionNotFound):
        await store.get_session("ses_a")


async def test_fork_at_seq(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m-0", title="original")
    events = conversation("ses_a", turns=2)
    await store.append_events("ses_a", events)
    cut = events[6].seq  # after the first model call of turn 1

    fork = await store.fork_session("ses_a", at_seq=cut, new_id="ses_f")

    assert (fork.forked_from, fork.forked_at_seq, fork.title, fork.cwd) == ("ses_a", cut, "original", "/w")
    assert (fork.event_count, fork.last_seq) == (7, cut)
    assert (fork.input_tokens, fork.output_tokens) == (100, 20)  # one model call before the cut
    copied = await store.load_events("ses_f")
    expected = [e.model_copy(update={"session_id": "ses_f"}) for e in events[:7]]
    assert [dump_event(e) for e in copied] == [dump_event(e) for e in expected]
    source = await store.get_session("ses_a")
    assert source.event_count == len(events)

    whole = await store.fork_session("ses_a", new_id="ses_g", title="copy")
    assert (whole.event_count, whole.forked_at_seq, whole.title) == (len(events), events[-1].seq, "copy")
    assert whole.input_tokens == source.input_tokens
    with pytest.raises(SessionExists):
        await store.fork_session("ses_a", new_id="ses_f")
    with pytest.raises(SessionNotFound):
        await store.fork_session("ses_nope", new_id="ses_h")
