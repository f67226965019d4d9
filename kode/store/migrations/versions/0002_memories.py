"""Long-term memories, per project and per user.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Only the plain table: the SQLite full-text index is built per search in the connection's TEMP
schema (see `kode.store.memories`), so the stored schema stays exactly `schema.py`'s on both
backends, which `tests/store/test_store_open.py` checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("project", sa.Text(), server_default="", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
    )
    op.create_index(op.f("ix_memories_scope_project"), "memories", ["scope", "project"])


def downgrade() -> None:
    op.drop_index(op.f("ix_memories_scope_project"), table_name="memories")
    op.drop_table("memories")
