"""a changed invoice cycle applies from the next cycle

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("float_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("previous_invoice_cycle", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("invoice_cycle_from", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("float_accounts", schema=None) as batch_op:
        batch_op.drop_column("invoice_cycle_from")
        batch_op.drop_column("previous_invoice_cycle")
