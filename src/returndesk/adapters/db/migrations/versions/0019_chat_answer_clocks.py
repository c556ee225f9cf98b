"""chats handed to people about no case: when a person's answer is due; notifications about
such a chat (no case)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 14:01:58.481005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import returndesk.adapters.db.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_clock", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "next_check_at",
                returndesk.adapters.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_next_check_at"), ["next_check_at"], unique=False
        )

    # staff_notifications has no triggers: rebuilding it on SQLite loses nothing.
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=40), nullable=True))
        batch_op.alter_column("case_id", existing_type=sa.VARCHAR(length=36), nullable=True)
        batch_op.alter_column("case_number", existing_type=sa.VARCHAR(length=20), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM staff_notifications WHERE case_id IS NULL")
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.alter_column("case_number", existing_type=sa.VARCHAR(length=20), nullable=False)
        batch_op.alter_column("case_id", existing_type=sa.VARCHAR(length=36), nullable=False)
        batch_op.drop_column("conversation_id")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_next_check_at"))
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("answer_clock")
