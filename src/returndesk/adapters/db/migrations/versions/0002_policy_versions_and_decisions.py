"""policy versions and decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 14:40:00

Stores' policies become versioned documents; cases keep their decision; orders record what
was paid for outbound shipping. Existing stores' basic policy (windows, final-sale
categories) becomes version 1 of their document.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import returndesk.adapters.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _document(old: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": 1,
        "name": "Return policy",
        "policy_displayed": True,
        "windows": {
            "change_of_mind_days": int(old.get("return_window_days", 30)),
            "fault_days": int(old.get("fault_window_days", 365)),
        },
        "categories": {
            "final_sale": sorted(old.get("non_returnable_categories", [])),
            "non_returnable": [],
        },
        "return_shipping": {"default": "buyer"},
        "refund": {"timing": "on_receipt"},
        "exchange": {"enabled": True},
    }


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", returndesk.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_policy_versions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "version", name=op.f("pk_policy_versions")),
    )
    op.add_column(
        "stores", sa.Column("policy_version", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "orders", sa.Column("shipping_paid", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("return_cases", sa.Column("decision", sa.JSON(), nullable=True))
    op.add_column(
        "return_cases", sa.Column("decision_outcome", sa.String(length=32), nullable=True)
    )
    op.create_index(
        "ix_cases_store_outcome_created",
        "return_cases",
        ["store_id", "decision_outcome", "created_at", "id"],
        unique=False,
    )
    conn = op.get_bind()
    stores = sa.table(
        "stores",
        sa.column("id", sa.String),
        sa.column("policy", sa.JSON),
        sa.column("policy_version", sa.Integer),
    )
    versions = sa.table(
        "policy_versions",
        sa.column("store_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("document", sa.JSON),
        sa.column("created_at", returndesk.adapters.db.types.UTCDateTime),
        sa.column("created_by", sa.String),
        sa.column("note", sa.String),
    )
    now = datetime.now(UTC)
    for row in conn.execute(sa.select(stores.c.id, stores.c.policy)).all():
        old = row.policy if isinstance(row.policy, dict) else json.loads(row.policy or "{}")
        document = _document(old)
        conn.execute(
            sa.insert(versions).values(
                store_id=row.id,
                version=1,
                document=document,
                created_at=now,
                created_by="migration 0002",
                note="Converted from the basic policy settings",
            )
        )
        conn.execute(
            sa.update(stores).where(stores.c.id == row.id).values(policy=document, policy_version=1)
        )


def downgrade() -> None:
    op.drop_index("ix_cases_store_outcome_created", table_name="return_cases")
    # recreate="never": SQLite >= 3.35 drops columns in place; rebuilding return_cases would
    # cascade into case_events, whose append-only triggers refuse.
    with op.batch_alter_table("return_cases", recreate="never") as batch:
        batch.drop_column("decision_outcome")
        batch.drop_column("decision")
    with op.batch_alter_table("orders", recreate="never") as batch:
        batch.drop_column("shipping_paid")
    with op.batch_alter_table("stores", recreate="never") as batch:
        batch.drop_column("policy_version")
    op.drop_table("policy_versions")
