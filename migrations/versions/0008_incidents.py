"""Incidents: what admins are told about once when it starts and once when it ends.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("open_kind", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("opened_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("closed_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("start_told_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("end_told_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("open_kind", name=op.f("uq_incidents_open_kind")),
    )
    op.create_index(op.f("ix_incidents_opened_at"), "incidents", ["opened_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_opened_at"), table_name="incidents")
    op.drop_table("incidents")
