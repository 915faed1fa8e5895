"""Leasing due webhook deliveries, with the events and endpoints that sending them needs;
and the rows of events and deliveries read back as domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.leases import lease_due_rows
from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.adapters.db.webhook_endpoint_repository import endpoint_from_row
from refundry.domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DueDelivery,
    EventType,
    WebhookEndpoint,
    WebhookEvent,
)

ev = webhook_tables.webhook_events
d = webhook_tables.webhook_deliveries
e = webhook_tables.webhook_endpoints
PENDING = DeliveryState.PENDING.value

Found = tuple[Mapping[Any, Any], WebhookEvent, WebhookEndpoint]


def event_from_row(row: Mapping[Any, Any]) -> WebhookEvent:
    return WebhookEvent(
        id=row["id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        type=EventType(row["type"]),
        sequence=row["sequence"],
        body=row["payload"],
        created_at=utc(row["created_at"]),
    )


def delivery_from_row(
    row: Mapping[Any, Any], url: str, log: tuple[DeliveryAttempt, ...] = ()
) -> Delivery:
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


def lease_due_deliveries(
    connection: sa.Connection, now: datetime, *, limit: int, lease_until: datetime
) -> list[DueDelivery]:
    """Take up to ``limit`` due deliveries until ``lease_until``, oldest first, with their
    events and endpoints (``attempts`` counting the attempt about to be made)."""
    if connection.dialect.name == "postgresql":
        found = _lease_in_one_statement(connection, now, limit, lease_until)
    else:
        rows = lease_due_rows(
            connection, d, pending=PENDING, now=now, limit=limit, lease_until=lease_until
        )
        found = _with_events_and_endpoints(connection, rows)
    return [
        DueDelivery(
            delivery=delivery_from_row(row, endpoint.url),
            event=event,
            endpoint=endpoint,
            leased_until=lease_until,
        )
        for row, event, endpoint in sorted(found, key=lambda item: item[0]["run_after"])
    ]


def _lease_in_one_statement(
    connection: sa.Connection, now: datetime, limit: int, lease_until: datetime
) -> list[Found]:
    """One round trip: pick the due rows (``SKIP LOCKED``: workers never wait for one
    another), lease them, and read them with their events and endpoints. This transaction's
    commit need not wait for the WAL flush (``synchronous_commit`` off, for it alone): a
    lease lost in a server crash only means the event is sent again, which at-least-once
    delivery allows."""
    due = (
        sa.select(d.c.id)
        .where(
            d.c.state == PENDING,
            d.c.run_after <= now,
            sa.or_(d.c.leased_until.is_(None), d.c.leased_until <= now),
        )
        .order_by(d.c.run_after)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    leased = (
        sa.update(d)
        .where(d.c.id == due.c.id)
        .values(leased_until=lease_until, attempts=d.c.attempts + 1)
        .returning(*d.c)
        .cte("leased")
    )
    setting = sa.select(sa.func.set_config("synchronous_commit", "off", True).label("value")).cte(
        "setting"
    )
    query = (
        sa.select(
            leased,
            *[column.label(f"ev_{column.name}") for column in ev.c],
            *[column.label(f"ep_{column.name}") for column in e.c],
            setting.c.value,
        )
        .join(ev, ev.c.id == leased.c.event_id)
        .join(e, e.c.id == leased.c.endpoint_id)
        .join(setting, sa.true())
    )
    return [
        (row, event_from_row(_prefixed(row, "ev_")), endpoint_from_row(_prefixed(row, "ep_")))
        for row in connection.execute(query).mappings()
    ]


def _with_events_and_endpoints(
    connection: sa.Connection, rows: Sequence[Mapping[str, Any]]
) -> list[Found]:
    if not rows:
        return []
    events = {
        row["id"]: event_from_row(row)
        for row in connection.execute(
            sa.select(ev).where(ev.c.id.in_({row["event_id"] for row in rows}))
        ).mappings()
    }
    endpoints = {
        row["id"]: endpoint_from_row(row)
        for row in connection.execute(
            sa.select(e).where(e.c.id.in_({row["endpoint_id"] for row in rows}))
        ).mappings()
    }
    return [
        (
            row,
            events[row["event_id"]],
            endpoints[row["endpoint_id"]],
        )
        for row in rows
    ]


def _prefixed(row: Mapping[Any, Any], prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}
