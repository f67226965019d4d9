"""Schema migrations, applied when a store opens; no alembic.ini needed on disk.

`migrate(engine)` runs in one transaction that holds the write lock (SQLite `BEGIN IMMEDIATE`,
a PostgreSQL advisory lock), so two kode processes starting at once on a new database do not
race: the second finds the schema built. When the database is already at `HEAD` (the common
case) Alembic is not even imported. A database stamped with a revision this kode does not know
was written by a newer kode: it is refused (`StoreTooNew`) and left untouched.

To add a revision after changing `schema.py`:
`python -m kode.store.migrate revision "what changed"` (autogenerates it against a scratch
database at head; read it, then fix the `HEAD` constant below — a test checks it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from kode.store.errors import StoreTooNew

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0003"
"""The newest revision under migrations/versions/."""
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
_PG_LOCK_KEY = 0x6B6F6465  # "kode": serialises migrations of concurrent starts on PostgreSQL


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revisions(connection: sa.Connection) -> set[str]:
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return set()
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return {row[0] for row in rows}


def upgrade(connection: sa.Connection) -> bool:
    """Bring the schema to HEAD inside the caller's transaction; True if anything ran."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    revisions = current_revisions(connection)
    if revisions == {HEAD}:
        return False
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config(connection)
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = sorted(revisions - known)
    if unknown:
        raise StoreTooNew(", ".join(unknown))
    command.upgrade(config, "head")
    return True


async def migrate(engine: AsyncEngine) -> bool:
    async with engine.begin() as conn:
        return await conn.run_sync(upgrade)


def _new_revision(message: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.db"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        head = ScriptDirectory.from_config(alembic_config()).get_current_head() or "0000"
        rev_id = f"{int(head) + 1:04d}"
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "revision":
        raise SystemExit('usage: python -m kode.store.migrate revision "what changed"')
    _new_revision(args[1])


if __name__ == "__main__":
    main()
