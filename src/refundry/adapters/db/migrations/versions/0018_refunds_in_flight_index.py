"""an index of the refunds still waiting for their provider, which metrics count at every
scrape

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("status IN ('started', 'processing')")


def upgrade() -> None:
    op.create_index(
        "ix_refunds_in_flight",
        "refunds",
        ["status"],
        postgresql_where=IN_FLIGHT,
        sqlite_where=IN_FLIGHT,
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_in_flight", table_name="refunds")
