"""Saved replies; who assigned an item to its owner.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 16:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_replies",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_saved_replies")),
    )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_column("assigned_by")
    op.drop_table("saved_replies")
