"""Slack events already handled, and texts sent from Slack.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 16:03:10.967712
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_texts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("sms_id", sa.String(length=128), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("to", sa.String(length=32), nullable=False),
        sa.Column("sent_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_texts")),
    )
    with op.batch_alter_table("outbound_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_texts_sms_id"), ["sms_id"], unique=False)
        batch_op.create_index(
            "ix_outbound_texts_user_sent", ["slack_user_id", "sent_at"], unique=False
        )

    op.create_table(
        "slack_events_seen",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_events_seen")),
    )
    with op.batch_alter_table("slack_events_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_events_seen_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slack_events_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_events_seen_seen_at"))

    op.drop_table("slack_events_seen")
    with op.batch_alter_table("outbound_texts", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_texts_user_sent")
        batch_op.drop_index(batch_op.f("ix_outbound_texts_sms_id"))

    op.drop_table("outbound_texts")
