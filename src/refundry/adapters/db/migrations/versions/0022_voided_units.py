"""order lines' units cancelled before the capture (never sold), for the reports

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 17:00:00

Existing rows start at 0. An order not captured yet gets them at its capture; for one
captured already, which cancelled units were cancelled before the capture is not recorded,
so they keep counting as sold, as they did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("voided_quantity", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("voided_discount", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("voided_discount")
        batch.drop_column("voided_quantity")
