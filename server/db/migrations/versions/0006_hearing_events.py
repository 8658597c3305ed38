"""The hearing protocol: an append-only event log per hearing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hearing_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hearing_id", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("actor_role", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.String(128), nullable=True),
        sa.Column("subject_name", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_events")),
    )
    op.create_index(op.f("ix_hearing_events_hearing_id"), "hearing_events", ["hearing_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hearing_events_hearing_id"), table_name="hearing_events")
    op.drop_table("hearing_events")
