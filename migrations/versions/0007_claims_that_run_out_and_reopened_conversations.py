"""Escalation and reminder claims that run out; text items know their conversation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_claimed_by", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("escalation_claimed_until", bot.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_open_items_conversation"), ["conversation"], unique=False
        )
    # A text conversation's first item is keyed by the conversation itself.
    op.execute("UPDATE open_items SET conversation = key WHERE kind = 'sms_thread'")

    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_until", bot.store.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")

    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open_items_conversation"))
        batch_op.drop_column("escalation_claimed_until")
        batch_op.drop_column("escalation_claimed_by")
        batch_op.drop_column("conversation")
