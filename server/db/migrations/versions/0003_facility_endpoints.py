"""Detention-facility video units and the detainee sessions officers start on them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facility_endpoints",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("facility", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility_endpoints")),
    )
    op.create_table(
        "detainee_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("hearing_id", sa.String(128), nullable=False),
        sa.Column("detainee_name", sa.String(200), nullable=False),
        sa.Column("detainee_iin", sa.String(12), nullable=True),
        sa.Column("attested_by_user", sa.String(128), nullable=False),
        sa.Column("attested_by_name", sa.String(200), nullable=False),
        sa.Column("attested_by_iin", sa.String(12), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detainee_sessions")),
    )
    op.create_index(op.f("ix_detainee_sessions_endpoint_id"), "detainee_sessions", ["endpoint_id"])
    op.create_index(op.f("ix_detainee_sessions_hearing_id"), "detainee_sessions", ["hearing_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_detainee_sessions_hearing_id"), table_name="detainee_sessions")
    op.drop_index(op.f("ix_detainee_sessions_endpoint_id"), table_name="detainee_sessions")
    op.drop_table("detainee_sessions")
    op.drop_table("facility_endpoints")
