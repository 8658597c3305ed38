"""Cases, their hearings, and the seats the court gives people in them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("court", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("court", "case_number", name="uq_cases_court"),
    )
    op.create_index("ix_cases_case_number", "cases", ["case_number"])
    op.create_table(
        "hearings",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("court", sa.String(200), nullable=False),
        sa.Column("judge_id", sa.String(128), nullable=True),
        sa.Column("secretary_id", sa.String(128), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("auto_admit", sa.Boolean(), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_session_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hearings"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_hearings_case_id_cases"),
    )
    op.create_index("ix_hearings_case_id", "hearings", ["case_id"])
    op.create_index("ix_hearings_state", "hearings", ["state"])
    op.create_index("ix_hearings_judge_id", "hearings", ["judge_id"])
    op.create_index("ix_hearings_scheduled_at", "hearings", ["scheduled_at"])
    op.create_table(
        "hearing_seats",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("hearing_id", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("iin", sa.String(12), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("represents", sa.String(128), nullable=True),
        sa.Column("interprets_for", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hearing_seats"),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearings.id"], name="fk_hearing_seats_hearing_id_hearings"
        ),
    )
    op.create_index("ix_hearing_seats_hearing_id", "hearing_seats", ["hearing_id"])
    op.create_index("ix_hearing_seats_iin", "hearing_seats", ["iin"])


def downgrade() -> None:
    op.drop_table("hearing_seats")
    op.drop_table("hearings")
    op.drop_table("cases")
