"""Money ledgers beside the orders: the merchant float with its invoices, loyalty points
and store credit. Every balance is the sum of its entries."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

float_accounts = sa.Table(
    "float_accounts",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("invoice_cycle", sa.String(16), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    # A changed cycle: cycles starting before invoice_cycle_from keep the previous one.
    sa.Column("previous_invoice_cycle", sa.String(16)),
    sa.Column("invoice_cycle_from", UTC_TIME),
)


float_entries = sa.Table(
    "float_entries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("float_accounts.merchant_id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("order_id", sa.Uuid),
    # A refund is credited to the float once, whatever happens: the index says so.
    sa.Column("refund_id", sa.Uuid, unique=True),
    sa.Column("invoice_id", sa.Uuid, index=True),
    sa.Column("note", sa.Text),
    sa.Index(None, "merchant_id", "created_at"),
)


invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("float_accounts.merchant_id"), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("period_start", UTC_TIME, nullable=False),
    sa.Column("period_end", UTC_TIME, nullable=False),
    sa.Column("opening_balance", sa.BigInteger, nullable=False),
    sa.Column("top_ups", sa.BigInteger, nullable=False),
    sa.Column("charges", sa.BigInteger, nullable=False),
    sa.Column("adjustments", sa.BigInteger, nullable=False),
    sa.Column("credits", sa.BigInteger, nullable=False),
    sa.Column("closing_balance", sa.BigInteger, nullable=False),
    sa.Column("closed_at", UTC_TIME, nullable=False),
    sa.UniqueConstraint("merchant_id", "period_start"),
)


# A merchant's loyalty points program: the earn rule and the shortfall policy.
points_programs = sa.Table(
    "points_programs",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("points_per_unit", sa.Integer, nullable=False),
    sa.Column("rounding", sa.String(16), nullable=False),
    sa.Column("shortfall_policy", sa.String(32), nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
)


# One row per customer with points: what a change locks before it reads the balance, so
# two reversals of one customer's points take turns (the balance is the ledger's sum).
points_accounts = sa.Table(
    "points_accounts",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    # The checkout's customer id, or the case-folded email (which may outgrow 320).
    sa.Column("customer", sa.Text, primary_key=True),
    sa.Column("created_at", UTC_TIME, nullable=False),
)


# The points ledger: every balance is the sum of its entries.
points_entries = sa.Table(
    "points_entries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("customer", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),  # signed
    sa.Column("shortfall", sa.BigInteger, nullable=False),
    sa.Column("order_id", sa.Uuid),
    sa.Column("refund_id", sa.Uuid),
    sa.Column("note", sa.Text),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(
        ["merchant_id", "customer"], ["points_accounts.merchant_id", "points_accounts.customer"]
    ),
    sa.Index(None, "merchant_id", "customer", "created_at"),
    sa.Index(None, "order_id"),
)


# One row per customer and currency with store credit: what a change locks before it reads
# the ledger, so two changes of one balance take turns (the balance is the ledger's sum).
store_credit_accounts = sa.Table(
    "store_credit_accounts",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("customer", sa.Text, primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    # The account's stream id: its store_credit.updated webhooks are numbered under it.
    sa.Column("id", sa.Uuid, nullable=False, unique=True),
    sa.Column("created_at", UTC_TIME, nullable=False),
    # When the earliest unspent credit expires (null: none will), kept under the lock with
    # each change so the worker's sweep finds the accounts due without reading every ledger.
    sa.Column("next_expiry_at", UTC_TIME, index=True),
)


# The store credit ledger: every balance is the sum of its entries.
store_credit_entries = sa.Table(
    "store_credit_entries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("customer", sa.Text, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),  # the account's entries count 1, 2, 3
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),  # signed, minor units
    sa.Column("expires_at", UTC_TIME),  # credits only
    sa.Column("order_id", sa.Uuid),
    # A refund is credited once, whatever happens (solidus#3989): the index says so.
    sa.Column("refund_id", sa.Uuid, unique=True),
    sa.Column("note", sa.Text),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(
        ["merchant_id", "customer", "currency"],
        [
            "store_credit_accounts.merchant_id",
            "store_credit_accounts.customer",
            "store_credit_accounts.currency",
        ],
    ),
    sa.UniqueConstraint("merchant_id", "customer", "currency", "sequence"),
    sa.Index(None, "order_id"),
    sa.Index(None, "merchant_id", "created_at"),
)
