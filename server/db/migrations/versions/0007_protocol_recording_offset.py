"""Each protocol entry keeps its offset into the hearing's recording.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hearing_events") as batch:
        batch.add_column(sa.Column("recording_offset", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hearing_events") as batch:
        batch.drop_column("recording_offset")
