"""Session leases: one writer per session across processes and hosts.

A lease is a row in `session_leases` naming its holder (a label, the host and the pid) and an
expiry on the database's clock. `acquire` takes it in a write transaction that also locks the
session row, so two processes racing for one session serialise and exactly one wins; the other
gets `SessionBusy` saying who holds it and since when. The holder renews it (a heartbeat task
every `ttl / 3` by default); a crashed holder stops renewing and its lease lapses after `ttl`.
A holder on this same host whose process is gone is known dead at once and is not waited for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kode.store.engine import db_now
from kode.store.errors import LeaseHolder, LeaseLost, SessionBusy, SessionNotFound
from kode.store.schema import session_leases, sessions

DEFAULT_TTL = 30.0
log = logging.getLogger("kode.store")


class Lease:
    """The right to write one session. Use `async with`, or call `release()` when done."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        session_id: str,
        token: str,
        owner: str,
        ttl: float,
        expires_at: float,
        on_done: Callable[[Lease], None] | None = None,
    ) -> None:
        self._engine = engine
        self.session_id = session_id
        self.token = token
        self.owner = owner
        self.ttl = ttl
        self.expires_at = expires_at
        """When it lapses unless renewed, in epoch seconds on the database's clock."""
        self._on_done = on_done
        self._released = False
        self._lost = False
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        """False once released, or once a renewal found another holder."""
        return not (self._released or self._lost)

    async def renew(self) -> None:
        """Push the expiry `ttl` seconds on; LeaseLost if another process has taken the session."""
        if not self.held:
            raise LeaseLost(self.session_id)
        async with self._engine.begin() as conn:
            now = await db_now(conn)
            result = await conn.execute(
                sa.update(session_leases)
                .where(session_leases.c.session_id == self.session_id, session_leases.c.token == self.token)
                .values(renewed_at=now, expires_at=now + self.ttl)
            )
        if result.rowcount != 1:
            self._lost = True
            self._stop_heartbeat()
            raise LeaseLost(self.session_id)
        self.expires_at = now + self.ttl

    async def check(self, conn: AsyncConnection) -> None:
        """Inside a write transaction: raise LeaseLost unless this lease is still the session's."""
        if not self.held:
            raise LeaseLost(self.session_id)
        token = (
            await conn.execute(sa.select(session_leases.c.token).where(session_leases.c.session_id == self.session_id))
        ).scalar_one_or_none()
        if token != self.token:
            self._lost = True
            self._stop_heartbeat()
            raise LeaseLost(self.session_id)

    async def release(self) -> None:
        """Give the session up (idempotent)."""
        if self._released:
            return
        self._released = True
        self._stop_heartbeat()
        if self._on_done is not None:
            self._on_done(self)
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(session_leases).where(
                    session_leases.c.session_id == self.session_id, session_leases.c.token == self.token
                )
            )

    def forget(self) -> None:
        """Stop holding without touching the database (the session and its lease row are gone)."""
        if not self._released:
            self._released = True
            self._stop_heartbeat()
            if self._on_done is not None:
                self._on_done(self)

    def start_heartbeat(self, interval: float | None = None) -> None:
        if self._heartbeat is None and self.held:
            every = interval if interval is not None else self.ttl / 3
            self._heartbeat = asyncio.create_task(self._beat(every), name=f"lease {self.session_id}")

    async def _beat(self, every: float) -> None:
        while self.held:
            await asyncio.sleep(every)
            try:
                await self.renew()
            except LeaseLost:
                log.warning("lost the lease on session %s", self.session_id)
                return
            except Exception as exc:  # a dropped connection: keep trying until the lease lapses
                log.warning("could not renew the lease on session %s: %s", self.session_id, exc)

    def _stop_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def __aenter__(self) -> Lease:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


async def acquire(
    engine: AsyncEngine,
    session_id: str,
    owner: str,
    *,
    ttl: float = DEFAULT_TTL,
    on_done: Callable[[Lease], None] | None = None,
) -> Lease:
    """Take the session's lease or raise SessionBusy (or SessionNotFound)."""
    token = secrets.token_hex(16)
    async with engine.begin() as conn:
        locked = await conn.execute(sa.select(sessions.c.id).where(sessions.c.id == session_id).with_for_update())
        if locked.first() is None:
            raise SessionNotFound(session_id)
        current = await _holder(conn, session_id)
        now = await db_now(conn)
        _raise_if_busy(session_id, current, now)
        values: dict[str, Any] = {
            "token": token,
            "owner": owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": now + ttl,
        }
        if current is None:
            await conn.execute(sa.insert(session_leases).values(session_id=session_id, **values))
        else:
            await conn.execute(
                sa.update(session_leases).where(session_leases.c.session_id == session_id).values(**values)
            )
    return Lease(
        engine, session_id=session_id, token=token, owner=owner, ttl=ttl, expires_at=now + ttl, on_done=on_done
    )


async def check_not_busy(conn: AsyncConnection, session_id: str, *, ours: Collection[str] = ()) -> None:
    """Raise SessionBusy if a live lease, other than one whose token is in `ours`, holds the session."""
    _raise_if_busy(session_id, await _holder(conn, session_id), await db_now(conn), ours)


def _raise_if_busy(
    session_id: str, current: tuple[LeaseHolder, str] | None, now: float, ours: Collection[str] = ()
) -> None:
    if current is None:
        return
    holder, token = current
    if holder.expires_at > now and token not in ours and not _is_dead(holder):
        raise SessionBusy(session_id, holder, now)


async def _holder(conn: AsyncConnection, session_id: str) -> tuple[LeaseHolder, str] | None:
    """The session's recorded lease holder (live or not) and its token."""
    c = session_leases.c
    query = sa.select(c.owner, c.host, c.pid, c.acquired_at, c.expires_at, c.token).where(c.session_id == session_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    holder = LeaseHolder(
        owner=row.owner, host=row.host, pid=row.pid, acquired_at=row.acquired_at, expires_at=row.expires_at
    )
    return holder, row.token


def _is_dead(holder: LeaseHolder) -> bool:
    """A holder on this host whose process has exited (a pid reused since only delays reclaim)."""
    if holder.host != socket.gethostname() or holder.pid == os.getpid():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
