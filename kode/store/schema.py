"""The tables, as SQLAlchemy Core metadata: what the migrations build and the queries use.

The migrations under `migrations/versions/` are frozen copies of this schema at each revision;
`tests/store/test_store_migrations.py` checks that migrating an empty database yields exactly
these tables, so a change here without a new revision fails the tests.

Times that order things (`created_at`, `updated_at`) are timezone-aware datetimes; lease times
are epoch seconds read from the database's own clock, so hosts with skewed clocks still agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("cwd", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=False, server_default="idle"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("forked_from", sa.String(64), sa.ForeignKey("sessions.id", ondelete="SET NULL")),
    sa.Column("forked_at_seq", sa.BigInteger),
    # Totals, kept up to date by append_events in the same transaction as the events.
    sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Double, nullable=False, server_default="0"),
    sa.Column("event_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index(None, "cwd", "updated_at"),
    sa.Index(None, "updated_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    # The event exactly as `kode.protocol.dump_event` wrote it: text, not JSON/JSONB, so it
    # round-trips byte for byte and is never re-encoded on the way in or out.
    sa.Column("payload", sa.Text, nullable=False),
)

session_leases = sa.Table(
    "session_leases",
    metadata,
    sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.Double, nullable=False),
    sa.Column("renewed_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

memories = sa.Table(
    "memories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # "project" (seen only in `project`) or "user" (seen in every project; `project` is "").
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("project", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "scope", "project"),
)

repo_tags = sa.Table(
    # Parsed repo-map tags (kode.repo.cache), keyed by language and content hash: shared by every
    # session and process on this store, so a file's content is parsed once.
    "repo_tags",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "created_at"),
)
