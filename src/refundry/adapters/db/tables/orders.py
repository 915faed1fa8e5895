"""The order aggregate: orders, their lines and gift-card links, their refunds with
the refunds' lines and status history."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("external_id", sa.String(200)),
    sa.Column("customer_email", sa.String(320), nullable=False),
    sa.Column("customer_external_id", sa.String(200)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_label", sa.String(64)),
    sa.Column("fulfilment_status", sa.String(32), nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    # The lines' sums, written once at ingest (lines never change): reports read them
    # without touching the lines.
    sa.Column("subtotal", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("discount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tax", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("shipping_amount", sa.BigInteger, nullable=False),
    sa.Column("shipping_tax", sa.BigInteger, nullable=False),
    sa.Column("payment_method", sa.String(16), nullable=False),
    sa.Column("capture_mode", sa.String(16), nullable=False),
    sa.Column("authorized", sa.BigInteger, nullable=False),
    sa.Column("captured", sa.BigInteger, nullable=False),
    sa.Column("authorization_state", sa.String(16), nullable=False),
    # The provider's id of the payment (a PaymentIntent, a Klarna order), when known.
    sa.Column("payment_reference", sa.String(255)),
    sa.Column("authorization_expires_at", UTC_TIME),
    sa.Column("authorization_flagged_at", UTC_TIME),
    sa.Column("authorization_void_answered_at", UTC_TIME),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("cancelled_at", UTC_TIME),
    sa.Column("cancelled_by", sa.String(100)),  # as the ledger names actors (staff:<id>)
    # Loyalty points the order's capture earned, and how many its refunds took back.
    sa.Column("points_earned", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_reversed", sa.BigInteger, nullable=False, server_default="0"),
    # Redeem orders: points the checkout spent, the part of ``captured`` they paid, and
    # how many refunds gave back.
    sa.Column("points_redeemed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_value", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_restored", sa.BigInteger, nullable=False, server_default="0"),
    # The part of ``captured`` the customer's store credit paid at checkout.
    sa.Column("store_credit", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
    sa.UniqueConstraint("merchant_id", "external_id"),
    sa.Index(None, "merchant_id", "created_at"),
    sa.Index(None, "merchant_id", "customer_email"),
    sa.Index(None, "payment_reference"),
    sa.Index(None, "authorization_state", "authorization_expires_at"),
)


order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(100), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    sa.Column("discount", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
    sa.Column("fulfilled_quantity", sa.Integer, nullable=False),
    sa.Column("cancelled_quantity", sa.Integer, nullable=False),
    # Of those, the units cancelled before any capture (never sold) and their discount
    # share: the items report leaves them out of what was sold.
    sa.Column("voided_quantity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("voided_discount", sa.BigInteger, nullable=False, server_default="0"),
)


# A query the in-flight index serves says this, literally: a planner matches a partial
# index's condition only against literal values, never against bound parameters.
REFUNDS_IN_FLIGHT = "status IN ('started', 'processing')"

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("discount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("shipping", sa.BigInteger, nullable=False),
    sa.Column("shipping_tax", sa.BigInteger, nullable=False),
    sa.Column("goodwill", sa.BigInteger, nullable=False),
    sa.Column("adjustment", sa.BigInteger, nullable=False),
    # Kept by the merchant from a return (restocking, return shipping); ``amount`` is net.
    sa.Column("fees", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text),
    sa.Column("reason_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("failure_reason", sa.Text),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("completed_at", UTC_TIME),
    # When the money counts as returned for reports: completed, or recorded as returned
    # by other means (not_requested). Null while pending or failed.
    sa.Column("settled_at", UTC_TIME),
    # The provider's id of this refund; an external refund is recorded once per id.
    sa.Column("provider_reference", sa.String(255)),
    sa.Column("points_reversed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_restored", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_value", sa.BigInteger),  # of ``amount``, given back in points
    sa.Column("store_credit_value", sa.BigInteger),  # of ``amount``, given back as store credit
    sa.Index(None, "merchant_id", "created_at"),
    sa.Index(None, "merchant_id", "settled_at"),
    sa.Index(None, "provider_reference"),
    # Refunds still waiting for their provider, a few among millions: each metrics scrape
    # counts them (services/views/operations.py) without reading the others.
    sa.Index(
        "ix_refunds_in_flight",
        "status",
        postgresql_where=sa.text(REFUNDS_IN_FLIGHT),
        sqlite_where=sa.text(REFUNDS_IN_FLIGHT),
    ),
)


refund_lines = sa.Table(
    "refund_lines",
    metadata,
    sa.Column("refund_id", sa.Uuid, sa.ForeignKey("refunds.id"), primary_key=True),
    sa.Column("order_line_id", sa.Uuid, sa.ForeignKey("order_lines.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unfulfilled_quantity", sa.Integer, nullable=False),
    sa.Column("restocked_quantity", sa.Integer, nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("discount", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
)


refund_status_changes = sa.Table(
    "refund_status_changes",
    metadata,
    sa.Column("refund_id", sa.Uuid, sa.ForeignKey("refunds.id"), primary_key=True),
    sa.Column("sequence", sa.Integer, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", UTC_TIME, nullable=False),
    sa.Column("detail", sa.Text),
)


gift_card_links = sa.Table(
    "gift_card_links",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("order_line_id", sa.Uuid, sa.ForeignKey("order_lines.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("spent", sa.BigInteger, nullable=False),
    sa.Column("expires_at", UTC_TIME, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("accessed_at", UTC_TIME),
    sa.Column("cancelled_at", UTC_TIME),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("cancelled_by", sa.String(100)),
)
