"""Parsed repo-map tags, cached by content.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "repo_tags",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_repo_tags")),
    )
    op.create_index(op.f("ix_repo_tags_created_at"), "repo_tags", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_repo_tags_created_at"), table_name="repo_tags")
    op.drop_table("repo_tags")
