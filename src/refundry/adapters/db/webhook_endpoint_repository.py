"""Webhook endpoints: a merchant's receivers, their secrets and their health."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.domain.webhooks import EndpointStatus, EventType, WebhookEndpoint

e = webhook_tables.webhook_endpoints

# Read by every change to an order that owes webhooks: built once (SQLAlchemy's cache).
_MERCHANT_ENDPOINTS = (
    sa.select(e)
    .where(e.c.merchant_id == sa.bindparam("merchant_id"), e.c.deleted_at.is_(None))
    .order_by(e.c.created_at, e.c.id)
)


def endpoint_from_row(row: Mapping[Any, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        merchant_id=row["merchant_id"],
        url=row["url"],
        description=row["description"],
        enabled_events=frozenset(EventType(name) for name in json.loads(row["enabled_events"])),
        status=EndpointStatus(row["status"]),
        secret=row["secret"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        disabled_reason=row["disabled_reason"],
        previous_secret=row["previous_secret"],
        previous_secret_expires_at=aware(row["previous_secret_expires_at"]),
        failing_since=aware(row["failing_since"]),
    )


def _values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": json.dumps(sorted(endpoint.enabled_events)),
        "status": endpoint.status.value,
        "disabled_reason": endpoint.disabled_reason,
        "secret": endpoint.secret,
        "previous_secret": endpoint.previous_secret,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "failing_since": endpoint.failing_since,
        "updated_at": endpoint.updated_at,
    }


class SqlWebhookEndpointRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        # A change reads the endpoint FOR UPDATE and saves it whole: two changes (a PATCH
        # and a secret rotation) take turns rather than undo each other.
        self._lock_rows = lock_rows

    def add(self, endpoint: WebhookEndpoint) -> None:
        self._connection.execute(
            sa.insert(e).values(
                id=endpoint.id,
                merchant_id=endpoint.merchant_id,
                created_at=endpoint.created_at,
                **_values(endpoint),
            )
        )

    def get(self, merchant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        query = sa.select(e).where(
            e.c.merchant_id == merchant_id, e.c.id == endpoint_id, e.c.deleted_at.is_(None)
        )
        if self._lock_rows and self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().one_or_none()
        return None if row is None else endpoint_from_row(row)

    def for_merchant(self, merchant_id: uuid.UUID) -> list[WebhookEndpoint]:
        rows = self._connection.execute(_MERCHANT_ENDPOINTS, {"merchant_id": merchant_id})
        return [endpoint_from_row(row) for row in rows.mappings()]

    def save(self, endpoint: WebhookEndpoint) -> None:
        self._connection.execute(
            sa.update(e)
            .where(e.c.id == endpoint.id, e.c.merchant_id == endpoint.merchant_id)
            .values(**_values(endpoint))
        )

    def delete(self, endpoint: WebhookEndpoint, now: datetime) -> None:
        # The row stays so the delivery log of past events can still name the endpoint.
        self._connection.execute(
            sa.update(e)
            .where(e.c.id == endpoint.id, e.c.merchant_id == endpoint.merchant_id)
            .values(deleted_at=now, updated_at=now, status=EndpointStatus.DISABLED.value)
        )

    def subscribed(self, merchant_id: uuid.UUID, event_type: EventType) -> list[WebhookEndpoint]:
        return [
            endpoint
            for endpoint in self.for_merchant(merchant_id)
            if endpoint.subscribes_to(event_type)
        ]

    def record_successes(self, endpoint_ids: Collection[uuid.UUID]) -> None:
        """These endpoints answered 2xx: none of them is failing any more (one statement)."""
        if not endpoint_ids:
            return
        self._connection.execute(
            sa.update(e)
            .where(e.c.id.in_(list(endpoint_ids)), e.c.failing_since.is_not(None))
            .values(failing_since=None)
        )

    def record_failure(self, endpoint_id: uuid.UUID, now: datetime) -> datetime:
        self._connection.execute(
            sa.update(e)
            .where(e.c.id == endpoint_id, e.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        since = self._connection.execute(
            sa.select(e.c.failing_since).where(e.c.id == endpoint_id)
        ).scalar_one()
        return utc(since)

    def disable(self, endpoint_id: uuid.UUID, reason: str, now: datetime) -> None:
        self._connection.execute(
            sa.update(e)
            .where(e.c.id == endpoint_id)
            .values(status=EndpointStatus.DISABLED.value, disabled_reason=reason, updated_at=now)
        )
