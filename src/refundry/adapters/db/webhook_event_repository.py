"""Webhook events, the deliveries they owe endpoints, and every attempt at them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import tables as t
from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.leases import lease_due_rows, update_if_leased
from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.webhook_endpoint_repository import endpoint_from_row
from refundry.domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DueDelivery,
    EventType,
    WebhookEvent,
)

ev = t.webhook_events
d = t.webhook_deliveries
a = t.webhook_attempts
PENDING = DeliveryState.PENDING.value


def _event(row: Mapping[Any, Any]) -> WebhookEvent:
    return WebhookEvent(
        id=row["id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        type=EventType(row["type"]),
        sequence=row["sequence"],
        body=row["payload"],
        created_at=utc(row["created_at"]),
    )


def _delivery(row: Mapping[Any, Any], url: str, log: tuple[DeliveryAttempt, ...] = ()) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        endpoint_id=row["endpoint_id"],
        endpoint_url=url,
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        run_after=utc(row["run_after"]),
        scheduled_at=utc(row["scheduled_at"]),
        finished_at=aware(row["finished_at"]),
        last_error=row["last_error"],
        log=log,
    )


class SqlWebhookEventRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._sequences: dict[uuid.UUID, int] = {}

    def next_sequence(self, order_id: uuid.UUID) -> int:
        # The order's row lock is held by the change being committed, so no other writer
        # of this order can take the same number (the unique constraint would refuse it).
        if order_id not in self._sequences:
            self._sequences[order_id] = self._connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(ev.c.sequence), 0)).where(
                    ev.c.order_id == order_id
                )
            ).scalar_one()
        self._sequences[order_id] += 1
        return self._sequences[order_id]

    def add(self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID]) -> None:
        self._connection.execute(
            sa.insert(ev).values(
                id=event.id,
                merchant_id=event.merchant_id,
                order_id=event.order_id,
                type=event.type.value,
                sequence=event.sequence,
                payload=event.body,
                created_at=event.created_at,
            )
        )
        self._owe(event, endpoint_ids, event.created_at)

    def get(self, merchant_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent | None:
        row = (
            self._connection.execute(
                sa.select(ev).where(ev.c.merchant_id == merchant_id, ev.c.id == event_id)
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else _event(row)

    def page(
        self,
        merchant_id: uuid.UUID | None,
        *,
        event_type: EventType | None,
        order_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        before: WebhookEvent | None,
    ) -> list[WebhookEvent]:
        """Newest first; ``before`` continues a page after its last event."""
        query = sa.select(ev)
        if merchant_id is not None:
            query = query.where(ev.c.merchant_id == merchant_id)
        if event_type is not None:
            query = query.where(ev.c.type == event_type.value)
        if order_id is not None:
            query = query.where(ev.c.order_id == order_id)
        if since is not None:
            query = query.where(ev.c.created_at >= since)
        if until is not None:
            query = query.where(ev.c.created_at < until)
        if before is not None:
            query = query.where(
                sa.or_(
                    ev.c.created_at < before.created_at,
                    sa.and_(ev.c.created_at == before.created_at, ev.c.id < before.id),
                )
            )
        rows = self._connection.execute(
            query.order_by(ev.c.created_at.desc(), ev.c.id.desc()).limit(limit)
        ).mappings()
        return [_event(row) for row in rows]

    def deliveries(self, event_id: uuid.UUID) -> list[Delivery]:
        rows = self._connection.execute(
            sa.select(d, t.webhook_endpoints.c.url)
            .join(t.webhook_endpoints, t.webhook_endpoints.c.id == d.c.endpoint_id)
            .where(d.c.event_id == event_id)
            .order_by(t.webhook_endpoints.c.created_at, d.c.id)
        ).mappings()
        deliveries = list(rows)
        logs: dict[uuid.UUID, list[DeliveryAttempt]] = {row["id"]: [] for row in deliveries}
        if logs:
            attempts = self._connection.execute(
                sa.select(a).where(a.c.delivery_id.in_(list(logs))).order_by(a.c.attempted_at)
            ).mappings()
            for attempt in attempts:
                logs[attempt["delivery_id"]].append(
                    DeliveryAttempt(
                        attempted_at=utc(attempt["attempted_at"]),
                        status_code=attempt["status_code"],
                        latency_ms=attempt["latency_ms"],
                        response_excerpt=attempt["response_excerpt"],
                        error=attempt["error"],
                    )
                )
        return [_delivery(row, row["url"], tuple(logs[row["id"]])) for row in deliveries]

    def redeliver(
        self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID], now: datetime
    ) -> None:
        """Owe the event again to these endpoints: a fresh round of retries, log kept.

        A delivery a worker holds right now keeps its lease, so two workers never send it
        at once; concurrent redeliveries of one event meet in the unique constraint."""
        if not endpoint_ids:
            return
        self._connection.execute(
            sa.update(d)
            .where(d.c.event_id == event.id, d.c.endpoint_id.in_(list(endpoint_ids)))
            .values(
                state=PENDING,
                attempts=0,  # a fresh round backs off from the start; the log keeps all
                run_after=now,
                scheduled_at=now,
                finished_at=None,
                last_error=None,
            )
        )
        self._owe(event, endpoint_ids, now)

    def _owe(self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """New pending deliveries of ``event``, due at ``at``; existing ones stay as they are."""
        if not endpoint_ids:
            return
        self._connection.execute(
            conflict_insert(self._connection, d).on_conflict_do_nothing(
                index_elements=["event_id", "endpoint_id"]
            ),
            [
                {
                    "id": uuid.uuid4(),
                    "merchant_id": event.merchant_id,
                    "event_id": event.id,
                    "endpoint_id": endpoint_id,
                    "state": PENDING,
                    "attempts": 0,
                    "run_after": at,
                    "scheduled_at": at,
                }
                for endpoint_id in endpoint_ids
            ],
        )

    def lease_due(self, now: datetime, *, limit: int, lease_until: datetime) -> list[DueDelivery]:
        rows = lease_due_rows(
            self._connection, d, pending=PENDING, now=now, limit=limit, lease_until=lease_until
        )
        if not rows:
            return []
        events = {
            row["id"]: _event(row)
            for row in self._connection.execute(
                sa.select(ev).where(ev.c.id.in_({row["event_id"] for row in rows}))
            ).mappings()
        }
        endpoints = {
            row["id"]: endpoint_from_row(row)
            for row in self._connection.execute(
                sa.select(t.webhook_endpoints).where(
                    t.webhook_endpoints.c.id.in_({row["endpoint_id"] for row in rows})
                )
            ).mappings()
        }
        return [
            DueDelivery(
                delivery=_delivery(
                    {**row, "attempts": row["attempts"] + 1},
                    endpoints[row["endpoint_id"]].url,
                ),
                event=events[row["event_id"]],
                endpoint=endpoints[row["endpoint_id"]],
                leased_until=lease_until,
            )
            for row in rows
        ]

    def record_attempt(self, due: DueDelivery, attempt: DeliveryAttempt) -> None:
        # Kept whatever became of the lease: the receiver did get this request.
        self._connection.execute(
            sa.insert(a).values(
                id=uuid.uuid4(),
                delivery_id=due.delivery.id,
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                response_excerpt=attempt.response_excerpt,
                error=attempt.error,
            )
        )

    def finish(
        self, due: DueDelivery, state: DeliveryState, now: datetime, error: str | None
    ) -> None:
        update_if_leased(
            self._connection,
            d,
            row_id=due.delivery.id,
            pending=PENDING,
            lease=due.leased_until,
            state=state.value,
            finished_at=now,
            leased_until=None,
            last_error=error,
        )

    def retry(self, due: DueDelivery, run_after: datetime, error: str | None) -> None:
        update_if_leased(
            self._connection,
            d,
            row_id=due.delivery.id,
            pending=PENDING,
            lease=due.leased_until,
            run_after=run_after,
            leased_until=None,
            last_error=error,
        )

    def fail_pending(self, endpoint_id: uuid.UUID, reason: str, now: datetime) -> int:
        result = self._connection.execute(
            sa.update(d)
            .where(d.c.endpoint_id == endpoint_id, d.c.state == PENDING)
            .values(
                state=DeliveryState.FAILED.value,
                finished_at=now,
                leased_until=None,
                last_error=reason,
            )
        )
        return int(result.rowcount)
