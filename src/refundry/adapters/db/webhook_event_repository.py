"""Webhook events, the deliveries they owe endpoints, and every attempt at them.

A change's event is written with its deliveries by one ``INSERT ... SELECT`` over the
merchant's subscribed endpoints (``add_for_subscribers``), and its sequence number comes
from the order's lock-and-load when the order was loaded to change it
(``order_load.load_row``): a webhook costs no reads of its own.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from refundry.adapters.db.engine import dialect_insert
from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.pending_writes import Bind, insert_later, write_later
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.adapters.db.tables.base import UTC_TIME
from refundry.adapters.db.webhook_leases import (
    delivery_from_row,
    event_from_row,
    lease_due_deliveries,
)
from refundry.domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DueDelivery,
    EndpointStatus,
    EventType,
    WebhookEvent,
)

ev = webhook_tables.webhook_events
d = webhook_tables.webhook_deliveries
a = webhook_tables.webhook_attempts
e = webhook_tables.webhook_endpoints
PENDING = DeliveryState.PENDING.value

# Statements every change to an order with webhooks runs, built once: SQLAlchemy then finds
# their compiled SQL at once, where building them per call was a third of the webhook
# fan-out's CPU in a refund's profile.
_LAST_SEQUENCE = sa.select(sa.func.coalesce(sa.func.max(ev.c.sequence), 0)).where(
    ev.c.order_id == sa.bindparam("order_id")
)
_ADD_EVENT = sa.insert(ev)


@functools.cache
def _owe_statement(dialect: str) -> Any:
    """New pending deliveries; one that exists already stays as it is."""
    insert = dialect_insert(dialect, d)
    return insert.on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"])


def _owe_subscribers(dialect: str, bind: Bind) -> sa.Insert:
    """A pending delivery of an event to each endpoint of its merchant subscribed to its
    type: ``WebhookEndpoint.subscribes_to`` (enabled, the type among its events), in SQL."""
    event_type = bind("event_type", sa.String)
    if dialect == "postgresql":
        new_id: Any = sa.func.gen_random_uuid(type_=sa.Uuid)
        # enabled_events is a JSON array of names: ``?`` asks whether one is an element.
        subscribed = sa.cast(e.c.enabled_events, postgresql.JSONB).has_key(event_type)
    else:
        new_id = sa.func.refundry_uuid4(type_=sa.Uuid)  # engine.py registers it
        names = sa.func.json_each(e.c.enabled_events).table_valued("value")
        subscribed = sa.exists().where(names.c.value == event_type)
    at = bind("at", UTC_TIME)
    subscribers = sa.select(
        new_id,
        e.c.merchant_id,
        bind("event_id", sa.Uuid),
        e.c.id,
        sa.literal(PENDING),
        sa.literal(0),
        at,
        at,
    ).where(
        e.c.merchant_id == bind("merchant_id", sa.Uuid),
        e.c.deleted_at.is_(None),
        e.c.status == EndpointStatus.ENABLED.value,
        subscribed,
    )
    columns = ["id", "merchant_id", "event_id", "endpoint_id", "state", "attempts"]
    return sa.insert(d).from_select([*columns, "run_after", "scheduled_at"], subscribers)


@functools.cache
def _owe_subscribers_in(dialect: str) -> Callable[[Bind], sa.Insert]:
    return functools.partial(_owe_subscribers, dialect)


class SqlWebhookEventRepository:
    def __init__(
        self, connection: sa.Connection, loaded_sequences: dict[uuid.UUID, int] | None = None
    ) -> None:
        self._connection = connection
        self._sequences: dict[uuid.UUID, int] = {}
        # Each order's last sequence number as its lock-and-load read it (the order
        # repository fills it in): a change that publishes reads no number of its own.
        self._loaded_sequences = {} if loaded_sequences is None else loaded_sequences

    def next_sequence(self, order_id: uuid.UUID) -> int:
        # The order's row lock is held by the change being committed, so no other writer
        # of this order can take the same number (the unique constraint would refuse it).
        if order_id not in self._sequences:
            loaded = self._loaded_sequences.get(order_id)
            if loaded is None:  # not an order loaded to change (a store credit stream)
                loaded = self._connection.execute(
                    _LAST_SEQUENCE, {"order_id": order_id}
                ).scalar_one()
            self._sequences[order_id] = loaded
        self._sequences[order_id] += 1
        return self._sequences[order_id]

    def add(self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID]) -> None:
        self._insert(event)
        self._owe(event, endpoint_ids, event.created_at)

    def add_for_subscribers(self, event: WebhookEvent) -> None:
        """The event, owed to each endpoint of its merchant subscribed to its type."""
        self._insert(event)
        write_later(
            self._connection,
            _owe_subscribers_in(self._connection.dialect.name),
            {
                "event_id": event.id,
                "merchant_id": event.merchant_id,
                "event_type": event.type.value,
                "at": event.created_at,
            },
            adds_rows_only=True,
        )

    def _insert(self, event: WebhookEvent) -> None:
        insert_later(
            self._connection,
            _ADD_EVENT,
            [
                {
                    "id": event.id,
                    "merchant_id": event.merchant_id,
                    "order_id": event.order_id,
                    "type": event.type.value,
                    "sequence": event.sequence,
                    "payload": event.body,
                    "created_at": event.created_at,
                }
            ],
        )

    def get(self, merchant_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent | None:
        row = (
            self._connection.execute(
                sa.select(ev).where(ev.c.merchant_id == merchant_id, ev.c.id == event_id)
            )
            .mappings()
            .one_or_none()
        )
        return None if row is None else event_from_row(row)

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
        return [event_from_row(row) for row in rows]

    def deliveries(self, event_id: uuid.UUID) -> list[Delivery]:
        rows = self._connection.execute(
            sa.select(d, webhook_tables.webhook_endpoints.c.url)
            .join(
                webhook_tables.webhook_endpoints,
                webhook_tables.webhook_endpoints.c.id == d.c.endpoint_id,
            )
            .where(d.c.event_id == event_id)
            .order_by(webhook_tables.webhook_endpoints.c.created_at, d.c.id)
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
        return [delivery_from_row(row, row["url"], tuple(logs[row["id"]])) for row in deliveries]

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
        insert_later(
            self._connection,
            _owe_statement(self._connection.dialect.name),
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
        return lease_due_deliveries(self._connection, now, limit=limit, lease_until=lease_until)

    def record_attempts(self, attempts: Sequence[tuple[DueDelivery, DeliveryAttempt]]) -> None:
        """One row per request made, in one statement. Kept whatever became of the lease:
        the receiver did get these requests."""
        if not attempts:
            return
        self._connection.execute(
            sa.insert(a),
            [
                {
                    "id": uuid.uuid4(),
                    "delivery_id": due.delivery.id,
                    "attempted_at": attempt.attempted_at,
                    "status_code": attempt.status_code,
                    "latency_ms": attempt.latency_ms,
                    "response_excerpt": attempt.response_excerpt,
                    "error": attempt.error,
                }
                for due, attempt in attempts
            ],
        )

    def finish(
        self, finished: Sequence[tuple[DueDelivery, DeliveryState, str | None]], now: datetime
    ) -> None:
        """Close deliveries still held by their lease: one UPDATE per (state, error, lease),
        so a batch delivered under one lease is one statement."""
        groups: dict[tuple[str, str | None, datetime], list[uuid.UUID]] = {}
        for due, state, error in finished:
            groups.setdefault((state.value, error, due.leased_until), []).append(due.delivery.id)
        for (value, error, lease), ids in groups.items():
            self._update_leased(
                ids, lease, state=value, finished_at=now, leased_until=None, last_error=error
            )

    def retry(self, retries: Sequence[tuple[DueDelivery, datetime, str | None]]) -> None:
        """Put deliveries back in the queue at their own times (while their lease holds)."""
        if not retries:
            return
        self._connection.execute(
            sa.update(d)
            .where(
                d.c.id == sa.bindparam("b_id"),
                d.c.state == PENDING,
                d.c.leased_until == sa.bindparam("b_lease"),
            )
            .values(
                run_after=sa.bindparam("b_run_after"),
                leased_until=None,
                last_error=sa.bindparam("b_error"),
            ),
            [
                {
                    "b_id": due.delivery.id,
                    "b_lease": due.leased_until,
                    "b_run_after": run_after,
                    "b_error": error,
                }
                for due, run_after, error in retries
            ],
        )

    def release(self, unsent: Sequence[DueDelivery]) -> None:
        """Hand back leased deliveries that were not sent: due again at once, and the
        attempt the lease counted is uncounted."""
        groups: dict[datetime, list[uuid.UUID]] = {}
        for due in unsent:
            groups.setdefault(due.leased_until, []).append(due.delivery.id)
        for lease, ids in groups.items():
            self._update_leased(ids, lease, leased_until=None, attempts=d.c.attempts - 1)

    def _update_leased(self, ids: Sequence[uuid.UUID], lease: datetime, **values: Any) -> int:
        """Change pending rows only while this lease still holds them, so a worker whose
        lease ran out cannot reopen a finished row or clear its successor's lease."""
        result = self._connection.execute(
            sa.update(d)
            .where(d.c.id.in_(list(ids)), d.c.state == PENDING, d.c.leased_until == lease)
            .values(**values)
        )
        return int(result.rowcount)

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
