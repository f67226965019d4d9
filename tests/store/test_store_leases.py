"""One writer per session: two Store instances on one database (two processes in effect)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable

import pytest
from sample_events import user_message

from kode.store import LeaseLost, SessionBusy, SessionNotFound, Store

OpenStore = Callable[[], Awaitable[Store]]


async def test_second_writer_is_told_the_session_is_busy(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.create_session(id="ses_a", cwd="/w", model="m")
    lease = await first.acquire("ses_a", "kode tui")

    with pytest.raises(SessionBusy) as busy:
        await second.acquire("ses_a", "kode ask")

    message = str(busy.value)
    assert "ses_a is busy" in message
    assert "kode tui" in message and f"pid {os.getpid()}" in message and socket.gethostname() in message
    assert "since 20" in message and "UTC" in message
    assert busy.value.holder.owner == "kode tui"

    await lease.release()
    again = await second.acquire("ses_a", "kode ask")
    assert again.held and not lease.held


async def test_a_lapsed_lease_can_be_taken_and_its_holder_finds_out(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.create_session(id="ses_a", cwd="/w", model="m")
    stale = await first.acquire("ses_a", "crashed", ttl=0.3, heartbeat=False)
    await first.append_events("ses_a", [user_message("ses_a", 1)], lease=stale)

    await asyncio.sleep(0.45)
    taken = await second.acquire("ses_a", "new owner")

    with pytest.raises(LeaseLost):
        await first.append_events("ses_a", [user_message("ses_a", 2)], lease=stale)
    with pytest.raises(LeaseLost):
        await stale.renew()
    assert not stale.held
    await second.append_events("ses_a", [user_message("ses_a", 2)], lease=taken)
    assert (await second.get_session("ses_a")).event_count == 2


async def test_the_heartbeat_keeps_a_lease_alive(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.create_session(id="ses_a", cwd="/w", model="m")
    lease = await first.acquire("ses_a", "busy one", ttl=0.8)  # renewed every ttl/3
    expiry = lease.expires_at

    await asyncio.sleep(1.2)  # past the first expiry

    with pytest.raises(SessionBusy):
        await second.acquire("ses_a", "other")
    assert lease.expires_at > expiry


async def test_closing_a_store_releases_its_leases(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.create_session(id="ses_a", cwd="/w", model="m")
    await first.acquire("ses_a", "closing")

    await first.close()

    assert (await second.acquire("ses_a", "next")).held


async def test_racing_acquirers_get_exactly_one_lease(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(3)]
    await stores[0].create_session(id="ses_a", cwd="/w", model="m")

    results = await asyncio.gather(
        *(store.acquire("ses_a", f"racer {n}") for n, store in enumerate(stores * 2)), return_exceptions=True
    )

    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, SessionBusy) for r in results if isinstance(r, BaseException))


async def test_async_with_and_unknown_sessions(store: Store) -> None:
    await store.create_session(id="ses_a", cwd="/w", model="m")
    async with await store.acquire("ses_a") as lease:
        assert lease.held
    assert not lease.held
    assert (await store.acquire("ses_a")).held
    with pytest.raises(SessionNotFound):
        await store.acquire("ses_nope")
