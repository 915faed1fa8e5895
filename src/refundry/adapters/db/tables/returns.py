"""Returns: children of the order aggregate (loaded and locked with it), with their lines
and the history of their status."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

returns = sa.Table(
    "returns",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("restocking_fee_bp", sa.Integer, nullable=False),  # basis points: 1% = 100
    sa.Column("return_shipping_fee", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("refund_id", sa.Uuid),
    sa.Column("exchange_order_id", sa.Uuid),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
    # The list pages newest first by merchant, optionally by status.
    sa.Index(None, "merchant_id", "created_at", "id"),
    sa.Index(None, "merchant_id", "status", "created_at"),
)


return_lines = sa.Table(
    "return_lines",
    metadata,
    sa.Column("return_id", sa.Uuid, sa.ForeignKey("returns.id"), primary_key=True),
    sa.Column("order_line_id", sa.Uuid, sa.ForeignKey("order_lines.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("restocking_fee_bp", sa.Integer),  # null: the return's
    sa.Column("resellable", sa.Integer, nullable=False),
    sa.Column("damaged", sa.Integer, nullable=False),
)


return_status_changes = sa.Table(
    "return_status_changes",
    metadata,
    sa.Column("return_id", sa.Uuid, sa.ForeignKey("returns.id"), primary_key=True),
    sa.Column("sequence", sa.Integer, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("at", UTC_TIME, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("detail", sa.Text),
)
