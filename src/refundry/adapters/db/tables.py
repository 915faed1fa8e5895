"""The schema. Every row carries its merchant id and every query filters by it.

Money columns are ``BigInteger`` minor units; the currency lives on the order (and
is repeated on refunds so reports never need a join to read an amount correctly).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UTC_TIME = sa.DateTime(timezone=True)

merchants = sa.Table(
    "merchants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    # Reports bucket days, weeks and months in the merchant's own time zone.
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    # flag or void: what the authorization watch does with a lapsing, unfulfilled hold.
    sa.Column("authorization_expiry_action", sa.String(16), nullable=False, server_default="flag"),
    # Seed 001's toggle: capture at once, or hold and capture on fulfilment.
    sa.Column("automatic_capture", sa.Boolean, nullable=False, server_default=sa.true()),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("revoked_at", UTC_TIME),
)

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
    sa.Column("cancel_reason", sa.Text),
    sa.Column("cancelled_at", UTC_TIME),
    # Loyalty points the order's capture earned, and how many its refunds took back.
    sa.Column("points_earned", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_reversed", sa.BigInteger, nullable=False, server_default="0"),
    # Redeem orders: points the checkout spent, the part of ``captured`` they paid, and
    # how many refunds gave back.
    sa.Column("points_redeemed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_value", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("points_restored", sa.BigInteger, nullable=False, server_default="0"),
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
)

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
    sa.Index(None, "merchant_id", "created_at"),
    sa.Index(None, "merchant_id", "settled_at"),
    sa.Index(None, "provider_reference"),
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
)

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

# The transactional outbox: work for the world outside (a provider call today, webhook
# deliveries later), written in the same transaction as the change that caused it.
# A worker leases due messages, acts, and records the outcome in a new transaction.
outbox_messages = sa.Table(
    "outbox_messages",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("order_id", sa.Uuid),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending, done, failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("run_after", UTC_TIME, nullable=False),
    sa.Column("leased_until", UTC_TIME),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("finished_at", UTC_TIME),
    sa.Index(None, "state", "run_after"),
    sa.Index(None, "order_id"),
)

# Events providers sent us, kept once per provider event id: the unique constraint, not a
# lookup, is what makes a replayed delivery do nothing.
provider_events = sa.Table(
    "provider_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("merchant_id", sa.Uuid),  # null when no order of ours matches
    sa.Column("order_id", sa.Uuid),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", UTC_TIME, nullable=False),
    sa.UniqueConstraint("provider", "event_id"),
)

stock_levels = sa.Table(
    "stock_levels",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("sku", sa.String(100), primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("body", sa.Text),
    sa.Column("created_at", UTC_TIME, nullable=False, index=True),
)

instance_settings = sa.Table(
    "instance_settings",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Where a merchant wants to hear about its orders. Deleting one keeps its row (deleted_at)
# so the delivery log of past events still names it.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("enabled_events", sa.Text, nullable=False),  # JSON list of event types
    sa.Column("status", sa.String(16), nullable=False),  # enabled, disabled
    sa.Column("disabled_reason", sa.Text),
    sa.Column("secret", sa.String(100), nullable=False),
    # During a rotation's grace period deliveries are signed with both secrets.
    sa.Column("previous_secret", sa.String(100)),
    sa.Column("previous_secret_expires_at", UTC_TIME),
    sa.Column("failing_since", UTC_TIME),  # first failure since the last success
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("updated_at", UTC_TIME, nullable=False),
    sa.Column("deleted_at", UTC_TIME),
)

# One row per event, written in the transaction of the change it reports. ``sequence``
# counts an order's events; the unique constraint makes two writers of one order collide
# rather than share a number.
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("order_id", sa.Uuid, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.UniqueConstraint("order_id", "sequence"),
    sa.Index(None, "merchant_id", "created_at"),
)

# An event owed to one endpoint: the queue the worker leases from, and its outcome.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, nullable=False),
    sa.Column("event_id", sa.Uuid, sa.ForeignKey("webhook_events.id"), nullable=False),
    sa.Column("endpoint_id", sa.Uuid, sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("run_after", UTC_TIME, nullable=False),
    sa.Column("leased_until", UTC_TIME),
    # When the current round of tries began (the event, or its latest redelivery):
    # retries give up a fixed time after it.
    sa.Column("scheduled_at", UTC_TIME, nullable=False),
    sa.Column("finished_at", UTC_TIME),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("event_id", "endpoint_id"),
    sa.Index(None, "state", "run_after"),
    sa.Index(None, "endpoint_id", "state"),
)

# Every try, kept for the delivery log: what was answered, how fast, and the first bytes.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "delivery_id", sa.Uuid, sa.ForeignKey("webhook_deliveries.id"), nullable=False, index=True
    ),
    sa.Column("attempted_at", UTC_TIME, nullable=False),
    sa.Column("status_code", sa.Integer),  # null when no HTTP answer came
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("response_excerpt", sa.Text),
    sa.Column("error", sa.Text),
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

# The merchant's people in the dashboard. The email is the login, unique everywhere.
staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # case folded
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, with its salt
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("permissions", sa.String(200), nullable=False),  # space-separated
    sa.Column("refund_limit", sa.BigInteger),  # minor units of refund_limit_currency
    sa.Column("refund_limit_currency", sa.String(3)),
    sa.Column("created_at", UTC_TIME, nullable=False),
)

# Signed-in browsers: the cookie holds a random token, the table its SHA-256, so a copy
# of the database opens no session. Each session has its own CSRF token.
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("staff_users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("expires_at", UTC_TIME, nullable=False),
)

# Four eyes: staff refunds above the member's limit, waiting for an admin.
# Failed dashboard sign-ins by email, known or not (a lockout must not tell which
# accounts exist); ``locked_until`` refuses every attempt until then.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),  # case folded
    sa.Column("failures", sa.Integer, nullable=False),  # in a row, since the last lock
    sa.Column("last_failed_at", UTC_TIME, nullable=False),
    sa.Column("locked_until", UTC_TIME),
)

refund_approvals = sa.Table(
    "refund_approvals",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("merchant_id", sa.Uuid, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("requested_by", sa.Uuid, sa.ForeignKey("staff_users.id"), nullable=False),
    sa.Column("requested_by_email", sa.String(320), nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTC_TIME, nullable=False),
    sa.Column("decided_by_email", sa.String(320)),
    sa.Column("decided_at", UTC_TIME),
    sa.Column("decision_note", sa.Text),
    sa.Column("refund_id", sa.Uuid),
    sa.Index(None, "merchant_id", "status", "created_at"),
)
