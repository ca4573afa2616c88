"""The newest opt-out or opt-in word of each party; voicemail aliases looked up by key.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_words",
        sa.Column("party", sa.String(length=32), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("said_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_consent_words")),
    )
    # Who has opted out so far said so when it was recorded: a word said earlier is older.
    op.execute(
        "INSERT INTO consent_words (party, keyword, said_at) "
        "SELECT phone, keyword, opted_out_at FROM opt_outs"
    )
    with op.batch_alter_table("voicemail_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voicemail_aliases_voicemail_key"), ["voicemail_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voicemail_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voicemail_aliases_voicemail_key"))
    op.drop_table("consent_words")
