"""redeem orders (points spent, their value, points restored) and reconciliation

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for column in ("points_redeemed", "points_value", "points_restored"):
            batch_op.add_column(
                sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
            )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_restored", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("points_value", sa.BigInteger(), nullable=True))
    op.create_table(
        "reconciliation_records",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("order_reference", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_reconciliation_records_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "transaction_id", name=op.f("pk_reconciliation_records")
        ),
    )
    op.create_index(
        op.f("ix_reconciliation_records_merchant_id_order_reference"),
        "reconciliation_records",
        ["merchant_id", "order_reference"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reconciliation_records_order_id"),
        "reconciliation_records",
        ["order_id"],
        unique=False,
    )
    op.create_index(
        "ix_reconciliation_records_unlinked",
        "reconciliation_records",
        ["merchant_id", "order_reference"],
        unique=False,
        postgresql_where=sa.text("order_id IS NULL"),
        sqlite_where=sa.text("order_id IS NULL"),
    )
    op.create_table(
        "reconciliation_discrepancies",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("transaction_id", sa.String(length=255), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("order_amount", sa.BigInteger(), nullable=True),
        sa.Column("record_amount", sa.BigInteger(), nullable=True),
        sa.Column("order_points", sa.BigInteger(), nullable=True),
        sa.Column("record_points", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_reconciliation_discrepancies_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "kind", "subject", name=op.f("pk_reconciliation_discrepancies")
        ),
    )
    op.create_index(
        op.f("ix_reconciliation_discrepancies_merchant_id_found_at"),
        "reconciliation_discrepancies",
        ["merchant_id", "found_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_reconciliation_discrepancies_merchant_id_found_at"),
        table_name="reconciliation_discrepancies",
    )
    op.drop_table("reconciliation_discrepancies")
    op.drop_index("ix_reconciliation_records_unlinked", table_name="reconciliation_records")
    op.drop_index(op.f("ix_reconciliation_records_order_id"), table_name="reconciliation_records")
    op.drop_index(
        op.f("ix_reconciliation_records_merchant_id_order_reference"),
        table_name="reconciliation_records",
    )
    op.drop_table("reconciliation_records")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("points_value")
        batch_op.drop_column("points_restored")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("points_restored")
        batch_op.drop_column("points_value")
        batch_op.drop_column("points_redeemed")
