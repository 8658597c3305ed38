"""The court hierarchy, the catalogue of sealed recordings, and the recordings' audit log.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courts",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("higher", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_courts"),
        sa.ForeignKeyConstraint(["higher"], ["courts.name"], name="fk_courts_higher_courts"),
    )
    op.create_index("ix_courts_higher", "courts", ["higher"])
    op.create_table(
        "recordings",
        sa.Column("hearing_id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("folder", sa.String(300), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hearing_id", name="pk_recordings"),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearings.id"], name="fk_recordings_hearing_id_hearings"
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_recordings_case_id_cases"),
    )
    op.create_index("ix_recordings_case_id", "recordings", ["case_id"])
    op.create_table(
        "recording_audit",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("iin", sa.String(12), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("case_id", sa.String(32), nullable=True),
        sa.Column("hearing_id", sa.String(128), nullable=True),
        sa.Column("file", sa.String(300), nullable=True),
        sa.Column("remote", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_recording_audit"),
        sa.UniqueConstraint("hash", name="uq_recording_audit_hash"),
    )
    op.create_index("ix_recording_audit_case_id", "recording_audit", ["case_id"])


def downgrade() -> None:
    op.drop_table("recording_audit")
    op.drop_table("recordings")
    op.drop_table("courts")
