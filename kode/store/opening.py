"""Opening a database: pick it, check the file, build the engine, migrate.

A SQLite file found corrupt — before opening, or when the migration trips on it — is moved aside
to `<name>.corrupt-<UTC time>` and a fresh database is made in its place; the returned warnings
say so, for the front-end to print. It happens at most once per open, so a database that cannot
be made sound fails with its error instead of looping. A PostgreSQL server that cannot be reached
or used raises `StoreUnavailable` naming the URL (without its password).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from kode.store import sqlite_file
from kode.store.engine import create_engine, resolve_url, sqlite_path
from kode.store.errors import StoreUnavailable
from kode.store.migrate import migrate

log = logging.getLogger("kode.store")


async def open_engine(url: str | None = None) -> tuple[AsyncEngine, list[str]]:
    """A migrated engine for `url` (see `engine.resolve_url`), and warnings for the user."""
    resolved = resolve_url(url)
    path = sqlite_path(resolved)
    if path is None:
        return await _open_server(resolved), []
    return await _open_sqlite(resolved, path)


async def _open_server(url: URL) -> AsyncEngine:
    engine = create_engine(url)
    try:
        await migrate(engine)
    except (DBAPIError, OSError, TimeoutError) as exc:
        await engine.dispose()
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        where = url.render_as_string(hide_password=True)
        raise StoreUnavailable(f"cannot use the database {where}: {cause}") from exc
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def _open_sqlite(url: URL, path: Path) -> tuple[AsyncEngine, list[str]]:
    warnings: list[str] = []
    reason = await asyncio.to_thread(sqlite_file.inspect, path)
    if reason is not None:
        warnings.append(_move_aside(path, reason))
    for attempt in (1, 2):
        sqlite_file.create_private(path)
        engine = create_engine(url)
        _watch_for_corruption(engine, path)
        try:
            await migrate(engine)
        except (DBAPIError, sqlite3.DatabaseError) as exc:
            await engine.dispose()
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            if attempt == 2 or cause is None or not sqlite_file.is_corruption(cause):
                raise
            warnings.append(_move_aside(path, str(cause)))
            continue
        except BaseException:
            await engine.dispose()
            raise
        return engine, warnings
    raise AssertionError("unreachable")


def _move_aside(path: Path, reason: str) -> str:
    moved = sqlite_file.move_aside(path)
    message = f"the database was corrupt ({reason}) and was moved to {moved}; starting fresh"
    log.warning(message)
    return message


def _watch_for_corruption(engine: AsyncEngine, path: Path) -> None:
    """A query that meets a corrupt page asks the next open for a full integrity check."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        if sqlite_file.is_corruption(context.original_exception):
            sqlite_file.mark_suspect(path)
