"""Voicemail aliases: either id of a voicemail leads to its one Slack message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voicemail_aliases",
        sa.Column("alias", sa.String(length=160), nullable=False),
        sa.Column("voicemail_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_voicemail_aliases")),
    )
    with op.batch_alter_table("voicemail_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voicemail_aliases_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voicemail_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voicemail_aliases_created_at"))

    op.drop_table("voicemail_aliases")
