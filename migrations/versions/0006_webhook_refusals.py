"""Webhook refusals: refused webhooks counted by kind and hour, for admins to see.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_refusals",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("hour", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_detail", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("kind", "hour", name=op.f("pk_webhook_refusals")),
    )
    with op.batch_alter_table("webhook_refusals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_refusals_last_seen"), ["last_seen"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_refusals_last_seen"))

    op.drop_table("webhook_refusals")
