"""Slack messages by kind and time: the App Home reads the newest conversations first.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06 19:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_slack_messages_kind_created", ["kind", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_messages_kind_created")
