"""case work: a team's open cases by case id (recomputing clocks page by page)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 13:33:49.664362
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


# Plain index operations (no batch mode): on SQLite a batch could rebuild the table and drop
# the dashboard's triggers on it (migration 0015).
def upgrade() -> None:
    op.drop_index("ix_case_work_team_id", table_name="case_work")
    op.create_index("ix_case_work_team_open", "case_work", ["team_id", "open", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_work_team_open", table_name="case_work")
    op.create_index("ix_case_work_team_id", "case_work", ["team_id"])
