"""The court directory: people the court knows and their staff roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "court_users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("iin", sa.String(12), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("court", sa.String(200), nullable=True),
        sa.Column("lawyer_licence", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_users")),
    )
    op.create_index(op.f("ix_court_users_iin"), "court_users", ["iin"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_court_users_iin"), table_name="court_users")
    op.drop_table("court_users")
