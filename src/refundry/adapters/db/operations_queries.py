"""Stored state for metrics, read at scrape time: one grouped statement each, over the
(state, run_after) indexes for the queues and the in-flight index for refunds; counting
every refund reads the refunds and orders tables whole (about a second on PostgreSQL at a
million orders), so its callers do it rarely."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.services.ports.operations import QueueFigures, RefundCount
from refundry.services.ports.outbox import MessageState

# The outbox and webhook deliveries name these two states alike (DeliveryState's too).
PENDING, FAILED = MessageState.PENDING.value, MessageState.FAILED.value


class SqlOperationsQueries:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def refund_counts(self, *, in_flight_only: bool) -> list[RefundCount]:
        r, o = order_tables.refunds, order_tables.orders
        query = (
            sa.select(r.c.status, r.c.method, o.c.payment_method, sa.func.count())
            .select_from(r.join(o, o.c.id == r.c.order_id))
            .group_by(r.c.status, r.c.method, o.c.payment_method)
        )
        if in_flight_only:  # through ix_refunds_in_flight: the few, not every refund
            query = query.where(sa.text(f"refunds.{order_tables.REFUNDS_IN_FLIGHT}"))
        return [RefundCount(*row) for row in self._connection.execute(query)]

    def outbox_by_topic(self, now: datetime) -> dict[str, QueueFigures]:
        m = message_tables.outbox_messages
        rows = self._queue_rows(m, m.c.topic, now)
        figures: dict[str, QueueFigures] = {}
        for topic, state, count, due, oldest in rows:
            figures[topic] = _add(figures.get(topic, QueueFigures()), state, count, due, oldest)
        return figures

    def webhook_deliveries(self, now: datetime) -> QueueFigures:
        d = webhook_tables.webhook_deliveries
        rows = self._queue_rows(d, None, now)
        figures = QueueFigures()
        for state, count, due, oldest in rows:
            figures = _add(figures, state, count, due, oldest)
        return figures

    def _queue_rows(
        self, table: sa.Table, group: sa.ColumnElement[Any] | None, now: datetime
    ) -> list[tuple[Any, ...]]:
        """Per group: (state, count, due, oldest due run_after) of pending and failed rows."""
        c = table.c
        is_due = c.run_after <= now
        groups = [c.state] if group is None else [group, c.state]
        query = (
            sa.select(
                *groups,
                sa.func.count(),
                sa.func.sum(sa.case((is_due, 1), else_=0)),
                sa.func.min(sa.case((is_due, c.run_after))),
            )
            .where(c.state.in_([PENDING, FAILED]))
            .group_by(*groups)
        )
        return [tuple(row) for row in self._connection.execute(query)]


def _add(
    figures: QueueFigures, state: str, count: int, due: int | None, oldest: datetime | None
) -> QueueFigures:
    if state == FAILED:
        return QueueFigures(figures.pending, figures.due, count, figures.oldest_due_at)
    return QueueFigures(count, int(due or 0), figures.failed, utc(oldest) if oldest else None)
