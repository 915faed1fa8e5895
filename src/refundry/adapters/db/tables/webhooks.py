"""Webhooks to merchants: their endpoints, the events, each event's deliveries and tries."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

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
