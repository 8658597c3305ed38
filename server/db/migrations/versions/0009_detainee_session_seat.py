"""A detainee session fills the detainee's seat in the hearing (when the court gave one).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detainee_sessions") as batch:
        batch.add_column(sa.Column("seat_id", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detainee_sessions") as batch:
        batch.drop_column("seat_id")
