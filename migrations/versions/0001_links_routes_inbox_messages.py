"""Links, routes, the webhook inbox and Slack message refs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 15:58:05.754830
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extension_links",
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("extension_id", sa.String(length=64), nullable=False),
        sa.Column("extension_number", sa.String(length=32), nullable=True),
        sa.Column("extension_name", sa.String(length=255), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("linked_by", sa.String(length=32), nullable=False),
        sa.Column("linked_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slack_user_id", name=op.f("pk_extension_links")),
    )
    with op.batch_alter_table("extension_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_extension_links_extension_id"), ["extension_id"], unique=False
        )

    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=True),
        sa.Column("delivery_id", sa.String(length=128), nullable=True),
        sa.Column("ordering_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("locked_until", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("body_sha256", name=op.f("uq_inbox_body_sha256")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbox_dedupe_key")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_inbox_delivery_id")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_inbox_ordering", ["ordering_key", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_received_at"), ["received_at"], unique=False)

    op.create_table(
        "routes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("event_kinds", sa.String(length=512), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("target", "channel_id", name=op.f("uq_routes_target_channel_id")),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routes_target"), ["target"], unique=False)

    op.create_table(
        "slack_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint(
            "kind", "key", "channel_id", name=op.f("uq_slack_messages_kind_key_channel_id")
        ),
    )
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.create_index("ix_slack_messages_channel_ts", ["channel_id", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_messages_channel_ts")

    op.drop_table("slack_messages")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routes_target"))

    op.drop_table("routes")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_received_at"))
        batch_op.drop_index("ix_inbox_ordering")
        batch_op.drop_index("ix_inbox_due")

    op.drop_table("inbox")
    with op.batch_alter_table("extension_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extension_links_extension_id"))

    op.drop_table("extension_links")
