"""store credit: accounts, the ledger, the store credit part of orders and refunds, and
the merchant's validity

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_credit_accounts",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_expiry_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_store_credit_accounts_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "customer", "currency", name=op.f("pk_store_credit_accounts")
        ),
        sa.UniqueConstraint("id", name=op.f("uq_store_credit_accounts_id")),
    )
    op.create_index(
        op.f("ix_store_credit_accounts_next_expiry_at"),
        "store_credit_accounts",
        ["next_expiry_at"],
        unique=False,
    )
    op.create_table(
        "store_credit_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id", "customer", "currency"],
            [
                "store_credit_accounts.merchant_id",
                "store_credit_accounts.customer",
                "store_credit_accounts.currency",
            ],
            name=op.f("fk_store_credit_entries_merchant_id_store_credit_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_credit_entries")),
        sa.UniqueConstraint(
            "merchant_id",
            "customer",
            "currency",
            "sequence",
            name=op.f("uq_store_credit_entries_merchant_id_customer_currency_sequence"),
        ),
        sa.UniqueConstraint("refund_id", name=op.f("uq_store_credit_entries_refund_id")),
    )
    op.create_index(
        op.f("ix_store_credit_entries_order_id"), "store_credit_entries", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_store_credit_entries_merchant_id_created_at"),
        "store_credit_entries",
        ["merchant_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("store_credit", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_credit_value", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_credit_validity_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("store_credit_validity_days")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("store_credit_value")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("store_credit")
    op.drop_index(
        op.f("ix_store_credit_entries_merchant_id_created_at"), table_name="store_credit_entries"
    )
    op.drop_index(op.f("ix_store_credit_entries_order_id"), table_name="store_credit_entries")
    op.drop_table("store_credit_entries")
    op.drop_index(
        op.f("ix_store_credit_accounts_next_expiry_at"), table_name="store_credit_accounts"
    )
    op.drop_table("store_credit_accounts")
