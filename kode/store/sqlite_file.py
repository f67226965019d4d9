"""A SQLite file that is not a sound database is moved aside, never crash-looped on.

At open, `inspect()` does cheap checks only (the header, the size the header promises, reading
the schema), so starting kode stays fast with a large database. When a query later meets a
corrupt page, the engine drops a `<db>.check` marker (`mark_suspect`), and the next open runs
SQLite's full `integrity_check` before trusting the file. Errors that are not corruption (locked,
busy, no permission) are raised as they are: a busy database is never moved aside.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

_MAGIC = b"SQLite format 3\x00"
_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


def is_corruption(exc: BaseException) -> bool:
    """Whether a (driver) exception says the file is not a sound SQLite database."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPTION_CODES
    text = str(exc)
    return "malformed" in text or "file is not a database" in text


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".check")


def mark_suspect(path: Path) -> None:
    """Ask the next open to check this database fully."""
    with contextlib.suppress(OSError):
        marker(path).touch()


def inspect(path: Path) -> str | None:
    """Why the database file at `path` is corrupt, or None if it looks sound (or is absent)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    reason = _check_header(path, size)
    if reason is not None:
        return reason
    full = marker(path).exists()
    try:
        connection = sqlite3.connect(path, timeout=10)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if full:
                rows = [r[0] for r in connection.execute("PRAGMA integrity_check(20)").fetchall()]
                if rows != ["ok"]:
                    return "integrity check failed: " + "; ".join(rows)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        raise
    if full:
        marker(path).unlink(missing_ok=True)
    return None


def _check_header(path: Path, size: int) -> str | None:
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_MAGIC):
        return "not a SQLite database (bad header)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"bad page size {page_size}"
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = header[24:28] == header[92:96]
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None  # a checkpoint may have been cut short: the WAL still holds the pages
    if header_size_valid and pages and size < pages * page_size:
        return f"truncated: {size} bytes, but the header says {pages} pages of {page_size} bytes"
    return None


def create_private(path: Path) -> None:
    """Make the folder (0700) and an empty database file (0600) if they are missing: sessions hold
    code and conversations, and SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def move_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename the database (and its -wal/-shm files) to `<name>.corrupt-<UTC time>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    marker(path).unlink(missing_ok=True)
    return target
