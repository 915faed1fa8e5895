"""Messages to and from payment providers: the transactional outbox, and the events
providers sent us."""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.tables.base import UTC_TIME, metadata

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
    # The W3C trace context of the change that wrote it, when tracing is on (null when
    # off): the worker's span for the message continues that trace.
    sa.Column("traceparent", sa.String(128)),
    sa.Column("tracestate", sa.Text),
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
