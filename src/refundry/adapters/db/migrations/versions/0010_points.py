"""loyalty points: programs, accounts, the ledger; points on orders and refunds

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 13:30:00
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
        "points_accounts",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_points_accounts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("merchant_id", "customer", name=op.f("pk_points_accounts")),
    )
    op.create_table(
        "points_programs",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("points_per_unit", sa.Integer(), nullable=False),
        sa.Column("rounding", sa.String(length=16), nullable=False),
        sa.Column("shortfall_policy", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_points_programs_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_points_programs")),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id", "customer"],
            ["points_accounts.merchant_id", "points_accounts.customer"],
            name=op.f("fk_points_entries_merchant_id_points_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
    )
    op.create_index(
        op.f("ix_points_entries_order_id"), "points_entries", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_points_entries_merchant_id_customer_created_at"),
        "points_entries",
        ["merchant_id", "customer", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_earned", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("points_reversed")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("points_reversed")
        batch_op.drop_column("points_earned")
    op.drop_index(op.f("ix_points_entries_order_id"), table_name="points_entries")
    op.drop_index(
        op.f("ix_points_entries_merchant_id_customer_created_at"), table_name="points_entries"
    )
    op.drop_table("points_entries")
    op.drop_table("points_programs")
    op.drop_table("points_accounts")
