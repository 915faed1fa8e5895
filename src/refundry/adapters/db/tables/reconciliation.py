"""Reconciliation: the records imported from the points or payment system, and the
discrepancies a run found."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

# Transactions the points or payment system says happened, imported for reconciliation.
# ``order_reference`` is the order's external id (or Refundry id); a run resolves it
# into ``order_id``, so records may arrive before their orders.
reconciliation_records = sa.Table(
    "reconciliation_records",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("transaction_id", sa.String(255), primary_key=True),
    sa.Column("order_reference", sa.String(200), nullable=False),
    sa.Column("order_id", sa.Uuid),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("points", sa.BigInteger),
    sa.Column("occurred_at", UTC_TIME),
    sa.Column("imported_at", UTC_TIME, nullable=False),
    sa.Index(None, "merchant_id", "order_reference"),
    sa.Index(None, "order_id"),
    # The few records still waiting for their order: what a run links, or reports.
    sa.Index(
        "ix_reconciliation_records_unlinked",
        "merchant_id",
        "order_reference",
        postgresql_where=sa.text("order_id IS NULL"),
        sqlite_where=sa.text("order_id IS NULL"),
    ),
)


# What reconciliation found: one row per (kind, subject), so a rerun adds nothing.
reconciliation_discrepancies = sa.Table(
    "reconciliation_discrepancies",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    # The record's transaction id, or the order id for a missing record.
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("transaction_id", sa.String(255)),
    sa.Column("order_id", sa.Uuid),
    sa.Column("currency", sa.String(3)),
    sa.Column("order_amount", sa.BigInteger),
    sa.Column("record_amount", sa.BigInteger),
    sa.Column("order_points", sa.BigInteger),
    sa.Column("record_points", sa.BigInteger),
    sa.Column("action", sa.String(32)),  # what Refundry did about it (auto_refunded)
    sa.Column("found_at", UTC_TIME, nullable=False),
    sa.Column("resolved_at", UTC_TIME),
    sa.Index(None, "merchant_id", "found_at"),
)
