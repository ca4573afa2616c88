"""Slack channel cooldowns, SMS opt-outs and the contact cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 16:01:51.441648
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_cooldowns",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("not_before", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_cooldowns")),
    )
    op.create_table(
        "contact_cache",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("fetched_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_contact_cache")),
    )
    op.create_table(
        "opt_outs",
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("opted_out_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("opt_outs")
    op.drop_table("contact_cache")
    op.drop_table("channel_cooldowns")
