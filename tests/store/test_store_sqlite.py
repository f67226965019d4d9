"""The SQLite side: its PRAGMAs, two real processes on one file, and bad files at start."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sample_events import conversation

from kode.protocol.events import UserMessage
from kode.store import SessionBusy, Store, UnsupportedDatabase
from kode.store.engine import BUSY_TIMEOUT_MS, resolve_url

HERE = Path(__file__).resolve().parent


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "store_worker.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def wait_for_line(process: subprocess.Popen[str], expected: str) -> None:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
    if line.strip() != expected:
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"worker said {line!r}, stderr:\n{err}")


def integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


async def test_pragmas_are_in_effect(tmp_path: Path) -> None:
    store = await Store.open(sqlite_url(tmp_path / "kode.db"))
    try:
        async with store.engine.connect() as conn:

            async def pragma(name: str) -> object:
                return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("busy_timeout") == BUSY_TIMEOUT_MS
            assert await pragma("synchronous") == 1  # NORMAL
    finally:
        await store.close()


async def test_readers_do_not_wait_for_a_writer_and_writers_wait_their_turn(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    store = await Store.open(sqlite_url(path))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        other.execute("INSERT INTO sessions (id, cwd, model, created_at, updated_at) VALUES ('x', '/', 'm', '', '')")
        assert await asyncio.wait_for(store.list_sessions(), 1) == []  # WAL: the reader is not blocked

        write = asyncio.create_task(store.create_session(id="ses_a", cwd="/w", model="m"))
        await asyncio.sleep(0.3)
        assert not write.done()  # waiting on busy_timeout, not failing with "database is locked"
        other.execute("ROLLBACK")
        assert (await asyncio.wait_for(write, 5)).id == "ses_a"
    finally:
        other.close()
        await store.close()


async def test_a_new_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "kode" / "kode.db"
    store = await Store.open(sqlite_url(path))
    try:
        await store.create_session(id="ses_a", cwd="/w", model="m")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.with_name("kode.db-wal").stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        await store.close()


def test_which_database() -> None:
    default = resolve_url(None, {"KODE_DATA_DIR": "/data/k"})
    assert (default.drivername, default.database) == ("sqlite+aiosqlite", "/data/k/kode.db")
    team = resolve_url(None, {"KODE_DATABASE_URL": "postgresql://kode:secret@db.internal/kode"})
    assert (team.drivername, team.host, team.database) == ("postgresql+asyncpg", "db.internal", "kode")
    assert resolve_url("sqlite:////tmp/x.db", {"KODE_DATABASE_URL": "postgresql://h/d"}).database == "/tmp/x.db"
    with pytest.raises(UnsupportedDatabase) as unsupported:
        resolve_url("mysql://kode:secret@h/d", {})
    assert "secret" not in str(unsupported.value)
    with pytest.raises(UnsupportedDatabase):
        resolve_url("sqlite://", {})


async def test_busy_across_processes_names_the_holder(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "kode.db")
    store = await Store.open(url)
    try:
        await store.create_session(id="ses_a", cwd="/w", model="m")
        holder = worker("hold", url, "ses_a")
        try:
            await wait_for_line(holder, "ready")
            with pytest.raises(SessionBusy) as busy:
                await store.acquire("ses_a", "kode tui")
            assert f"pid {holder.pid}" in str(busy.value) and "store_worker hold" in str(busy.value)
        finally:
            holder.communicate(input="", timeout=30)  # closing stdin makes it release and exit
        assert holder.returncode == 0
        assert (await store.acquire("ses_a", "kode tui")).held
    finally:
        await store.close()


async def test_a_killed_holder_on_this_host_is_not_waited_for(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "kode.db")
    store = await Store.open(url)
    try:
        await store.create_session(id="ses_a", cwd="/w", model="m")
        holder = worker("hold", url, "ses_a")
        await wait_for_line(holder, "ready")
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)

        lease = await store.acquire("ses_a", "kode tui")  # no 30 s wait: its pid is gone
        assert lease.held
    finally:
        await store.close()


async def test_two_processes_appending_at_once(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    url = sqlite_url(path)
    await (await Store.open(url)).close()  # migrate first, so the workers race on appends only
    count = 300
    writers = [worker("append", url, f"ses_{n}", str(count)) for n in range(2)]
    for process in writers:
        await wait_for_line(process, "ready")
    for process in writers:
        out, err = await asyncio.to_thread(process.communicate, timeout=60)
        assert process.returncode == 0, err
        assert out.strip() == "done"

    assert integrity(path) == ["ok"]
    store = await Store.open(url)
    try:
        for n in range(2):
            record = await store.get_session(f"ses_{n}")
            assert (record.event_count, record.last_seq) == (count, count)
            loaded = await store.load_events(f"ses_{n}")
            assert [e.seq for e in loaded] == list(range(1, count + 1))
            assert all(isinstance(e, UserMessage) and e.text.endswith(f"of ses_{n}") for e in loaded)
    finally:
        await store.close()


async def _make_db(path: Path, sessions: int = 1, turns: int = 40) -> None:
    store = await Store.open(sqlite_url(path))
    for n in range(sessions):
        await store.create_session(id=f"ses_{n}", cwd="/w", model="m")
        await store.append_events(f"ses_{n}", conversation(f"ses_{n}", turns=turns))
    await store.close()


async def _assert_moved_aside_and_fresh(path: Path, original: bytes) -> None:
    store = await Store.open(sqlite_url(path))
    try:
        assert len(store.warnings) == 1
        warning = store.warnings[0]
        assert warning.startswith("the database was corrupt") and warning.endswith("; starting fresh")
        moved = [p for p in path.parent.iterdir() if p.name.startswith("kode.db.corrupt-")]
        assert len(moved) == 1 and str(moved[0]) in warning
        assert moved[0].read_bytes() == original
        assert await store.list_sessions() == []
        await store.create_session(id="ses_new", cwd="/w", model="m")
    finally:
        await store.close()
    assert integrity(path) == ["ok"]
    again = await Store.open(sqlite_url(path))  # and no crash loop: the next start is clean
    assert again.warnings == []
    await again.close()


async def test_a_file_of_random_bytes_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    path.write_bytes(original := os.urandom(8192))
    await _assert_moved_aside_and_fresh(path, original)


@pytest.mark.parametrize("keep", [0.5, 60 / 4096], ids=["half", "60-bytes"])
async def test_a_truncated_database_is_moved_aside(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "kode.db"
    await _make_db(path)
    data = path.read_bytes()
    assert len(data) > 8 * 4096
    path.write_bytes(original := data[: int(len(data) * keep)])
    await _assert_moved_aside_and_fresh(path, original)


async def test_corruption_found_later_is_checked_fully_at_next_start(tmp_path: Path) -> None:
    path = tmp_path / "kode.db"
    await _make_db(path, sessions=1, turns=200)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(2, len(data) // page_size):  # trash all but pages 1-2 (schema, alembic_version)
        data[page * page_size : page * page_size + 100] = os.urandom(100)
    path.write_bytes(bytes(data))

    store = await Store.open(sqlite_url(path))  # the cheap checks at open pass
    assert store.warnings == []
    with pytest.raises(sa.exc.DatabaseError):
        await store.load_events("ses_0")
    await store.close()
    assert path.with_name("kode.db.check").exists()

    await _assert_moved_aside_and_fresh(path, bytes(data))
    assert not path.with_name("kode.db.check").exists()
