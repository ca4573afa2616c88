"""Open items (who took a caller, who handled it), reminders, calls placed from Slack, job runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:30:45.954087
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("started_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "open_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("extension_id", sa.String(length=128), nullable=True),
        sa.Column("party", sa.String(length=64), nullable=True),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("arrived_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("taken_by", sa.String(length=32), nullable=True),
        sa.Column("taken_from", sa.String(length=32), nullable=True),
        sa.Column("taken_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("handled_by", sa.String(length=32), nullable=True),
        sa.Column("handled_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_items")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_open_items_kind_key")),
    )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_items_arrived_at"), ["arrived_at"], unique=False)
        batch_op.create_index(
            "ix_open_items_waiting",
            ["escalated_at", "handled_at", "taken_at", "arrived_at"],
            unique=False,
        )

    op.create_table(
        "placed_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("to", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("placed_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placed_calls")),
    )
    with op.batch_alter_table("placed_calls", schema=None) as batch_op:
        batch_op.create_index("ix_placed_calls_to_placed", ["to", "placed_at"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("due_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["open_items.id"],
            name=op.f("fk_reminders_item_id_open_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_due", ["sent_at", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_due")

    op.drop_table("reminders")
    with op.batch_alter_table("placed_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_placed_calls_to_placed")

    op.drop_table("placed_calls")
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_index("ix_open_items_waiting")
        batch_op.drop_index(batch_op.f("ix_open_items_arrived_at"))

    op.drop_table("open_items")
    op.drop_table("job_runs")
