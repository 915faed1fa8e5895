"""The outbox table: add messages with a change, lease due ones, record outcomes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.leases import lease_due_rows, update_if_leased
from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.pending_writes import insert_later
from refundry.adapters.db.tables import messages as message_tables
from refundry.services.ports.outbox import MessageState, OutboxMessage, Topic
from refundry.services.ports.tracing import NO_TRACING, TraceContext, Tracing

o = message_tables.outbox_messages


class SqlOutboxRepository:
    def __init__(self, connection: sa.Connection, tracing: Tracing = NO_TRACING) -> None:
        self._connection = connection
        self._tracing = tracing

    def add(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        # The trace is read now, in the change's own code: the row itself is sent later
        # (with the change's other writes, so it commits with the change or not), when
        # the span that wrote it may have ended.
        current = self._tracing.current_context() if messages else None
        insert_later(
            self._connection,
            o,
            [
                {
                    "id": message.id,
                    "merchant_id": message.merchant_id,
                    "order_id": message.order_id,
                    "topic": message.topic.value,
                    "payload": json.dumps(message.payload, sort_keys=True),
                    "state": MessageState.PENDING.value,
                    "attempts": 0,
                    "run_after": now,
                    "created_at": message.created_at,
                    **_trace_columns(message.trace_context or current),
                }
                for message in messages
            ],
        )

    def lease_due(self, now: datetime, *, limit: int, lease_until: datetime) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages for this worker until ``lease_until``: work
        on refunds already sent (polls, retries) and providers' events before new sends,
        so a backlog of sends never holds back refunds that are about to complete."""
        rows = lease_due_rows(
            self._connection,
            o,
            pending=MessageState.PENDING.value,
            now=now,
            limit=limit,
            lease_until=lease_until,
            first=sa.or_(o.c.attempts > 0, o.c.topic == Topic.PROVIDER_REFUND_EVENT.value),
        )
        return [
            OutboxMessage(
                id=row["id"],
                merchant_id=row["merchant_id"],
                order_id=row["order_id"],
                topic=Topic(row["topic"]),
                payload=json.loads(row["payload"]),
                attempts=row["attempts"],
                created_at=utc(row["created_at"]),
                leased_until=lease_until,
                trace_context=_trace_context(row),
            )
            for row in rows
        ]

    def finish(self, message: OutboxMessage, now: datetime) -> None:
        self._set(message, state=MessageState.DONE.value, finished_at=now, leased_until=None)

    def fail(self, message: OutboxMessage, error: str, now: datetime) -> None:
        self._set(
            message,
            state=MessageState.FAILED.value,
            finished_at=now,
            leased_until=None,
            last_error=error,
        )

    def retry(self, message: OutboxMessage, run_after: datetime, error: str | None) -> None:
        self._set(message, run_after=run_after, leased_until=None, last_error=error)

    def _set(self, message: OutboxMessage, **values: object) -> None:
        update_if_leased(
            self._connection,
            o,
            row_id=message.id,
            pending=MessageState.PENDING.value,
            lease=message.leased_until,
            **values,
        )


def _trace_columns(context: TraceContext | None) -> dict[str, str | None]:
    # Both columns always, so an insert's shape (and its compiled SQL) does not depend on
    # whether tracing is on.
    context = context or {}
    return {"traceparent": context.get("traceparent"), "tracestate": context.get("tracestate")}


def _trace_context(row: Mapping[str, Any]) -> TraceContext | None:
    if row["traceparent"] is None:
        return None
    context = {"traceparent": row["traceparent"]}
    if row["tracestate"]:
        context["tracestate"] = row["tracestate"]
    return context
