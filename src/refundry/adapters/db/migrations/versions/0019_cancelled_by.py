"""who cancelled an order or a gift-card link (the dashboard's timeline names them)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: cancellations made before this were not recorded with their actor.
    for table in ("orders", "gift_card_links"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cancelled_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    for table in ("gift_card_links", "orders"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("cancelled_by")
