"""The fakes of the merchant's webhook endpoints and of the events owed to them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from refundry.domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DueDelivery,
    EndpointStatus,
    EventType,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.unit.fakes.store import InMemoryStore, StoredEndpoint


class FakeWebhookEndpointRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def add(self, endpoint: WebhookEndpoint) -> None:
        self._store.webhook_endpoints[endpoint.id] = StoredEndpoint(endpoint)

    def get(self, merchant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        stored = self._store.webhook_endpoints.get(endpoint_id)
        if stored is None or stored.deleted_at is not None:
            return None
        return stored.endpoint if stored.endpoint.merchant_id == merchant_id else None

    def for_merchant(self, merchant_id: uuid.UUID) -> list[WebhookEndpoint]:
        live = [
            stored.endpoint
            for stored in self._store.webhook_endpoints.values()
            if stored.endpoint.merchant_id == merchant_id and stored.deleted_at is None
        ]
        return sorted(live, key=lambda endpoint: (endpoint.created_at, endpoint.id))

    def save(self, endpoint: WebhookEndpoint) -> None:
        stored = self._store.webhook_endpoints.get(endpoint.id)
        if stored is not None and stored.endpoint.merchant_id == endpoint.merchant_id:
            stored.endpoint = endpoint

    def delete(self, endpoint: WebhookEndpoint, now: datetime) -> None:
        stored = self._store.webhook_endpoints.get(endpoint.id)
        if stored is not None and stored.endpoint.merchant_id == endpoint.merchant_id:
            stored.deleted_at = now
            stored.endpoint = replace(
                stored.endpoint, status=EndpointStatus.DISABLED, updated_at=now
            )

    def subscribed(self, merchant_id: uuid.UUID, event_type: EventType) -> list[WebhookEndpoint]:
        return [
            endpoint
            for endpoint in self.for_merchant(merchant_id)
            if endpoint.subscribes_to(event_type)
        ]

    def record_successes(self, endpoint_ids: Collection[uuid.UUID]) -> None:
        for endpoint_id in endpoint_ids:
            stored = self._store.webhook_endpoints[endpoint_id]
            stored.endpoint = replace(stored.endpoint, failing_since=None)

    def record_failure(self, endpoint_id: uuid.UUID, now: datetime) -> datetime:
        stored = self._store.webhook_endpoints[endpoint_id]
        if stored.endpoint.failing_since is None:
            stored.endpoint = replace(stored.endpoint, failing_since=now)
        assert stored.endpoint.failing_since is not None
        return stored.endpoint.failing_since

    def disable(self, endpoint_id: uuid.UUID, reason: str, now: datetime) -> None:
        stored = self._store.webhook_endpoints[endpoint_id]
        stored.endpoint = replace(
            stored.endpoint,
            status=EndpointStatus.DISABLED,
            disabled_reason=reason,
            updated_at=now,
        )


class FakeWebhookEventRepository:
    """The event log and the deliveries each event owes. The delivery worker's side
    (leasing, attempts, outcomes) is not faked: handler tests stop at the commit."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._sequences: dict[uuid.UUID, int] = {}

    def next_sequence(self, order_id: uuid.UUID) -> int:
        if order_id not in self._sequences:
            self._sequences[order_id] = max(
                (
                    event.sequence
                    for event in self._store.webhook_events
                    if event.order_id == order_id
                ),
                default=0,
            )
        self._sequences[order_id] += 1
        return self._sequences[order_id]

    def add(self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID]) -> None:
        self._store.webhook_events.append(event)
        self._owe(event, endpoint_ids, event.created_at)

    def add_for_subscribers(self, event: WebhookEvent) -> None:
        subscribed = [
            stored.endpoint.id
            for stored in self._store.webhook_endpoints.values()
            if stored.endpoint.merchant_id == event.merchant_id
            and stored.deleted_at is None
            and stored.endpoint.subscribes_to(event.type)
        ]
        self.add(event, subscribed)

    def get(self, merchant_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent | None:
        for event in self._store.webhook_events:
            if (event.merchant_id, event.id) == (merchant_id, event_id):
                return event
        return None

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
        found = [
            event
            for event in self._store.webhook_events
            if (merchant_id is None or event.merchant_id == merchant_id)
            and (event_type is None or event.type is event_type)
            and (order_id is None or event.order_id == order_id)
            and (since is None or event.created_at >= since)
            and (until is None or event.created_at < until)
            and (before is None or (event.created_at, event.id) < (before.created_at, before.id))
        ]
        found.sort(key=lambda event: (event.created_at, event.id), reverse=True)
        return found[:limit]

    def deliveries(self, event_id: uuid.UUID) -> list[Delivery]:
        endpoints = self._store.webhook_endpoints
        owed = [
            delivery for delivery in self._store.webhook_deliveries if delivery.event_id == event_id
        ]
        owed.sort(
            key=lambda delivery: (endpoints[delivery.endpoint_id].endpoint.created_at, delivery.id)
        )
        return [
            replace(delivery, log=tuple(self._store.webhook_attempts.get(delivery.id, ())))
            for delivery in owed
        ]

    def redeliver(
        self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID], now: datetime
    ) -> None:
        deliveries = self._store.webhook_deliveries
        for index, delivery in enumerate(deliveries):
            if delivery.event_id == event.id and delivery.endpoint_id in endpoint_ids:
                deliveries[index] = replace(
                    delivery,
                    state=DeliveryState.PENDING,
                    attempts=0,
                    run_after=now,
                    scheduled_at=now,
                    finished_at=None,
                    last_error=None,
                )
        self._owe(event, endpoint_ids, now)

    def lease_due(self, now: datetime, *, limit: int, lease_until: datetime) -> list[DueDelivery]:
        raise NotImplementedError("the fake does not run the webhook delivery worker")

    def record_attempts(self, attempts: Sequence[tuple[DueDelivery, DeliveryAttempt]]) -> None:
        raise NotImplementedError("the fake does not run the webhook delivery worker")

    def finish(
        self, finished: Sequence[tuple[DueDelivery, DeliveryState, str | None]], now: datetime
    ) -> None:
        raise NotImplementedError("the fake does not run the webhook delivery worker")

    def retry(self, retries: Sequence[tuple[DueDelivery, datetime, str | None]]) -> None:
        raise NotImplementedError("the fake does not run the webhook delivery worker")

    def release(self, unsent: Sequence[DueDelivery]) -> None:
        raise NotImplementedError("the fake does not run the webhook delivery worker")

    def fail_pending(self, endpoint_id: uuid.UUID, reason: str, now: datetime) -> int:
        failed = 0
        deliveries = self._store.webhook_deliveries
        for index, delivery in enumerate(deliveries):
            if delivery.endpoint_id == endpoint_id and delivery.state is DeliveryState.PENDING:
                deliveries[index] = replace(
                    delivery, state=DeliveryState.FAILED, finished_at=now, last_error=reason
                )
                failed += 1
        return failed

    def _owe(self, event: WebhookEvent, endpoint_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """New pending deliveries of ``event``; one that exists already stays as it is."""
        owed = {
            delivery.endpoint_id
            for delivery in self._store.webhook_deliveries
            if delivery.event_id == event.id
        }
        for endpoint_id in endpoint_ids:
            if endpoint_id in owed:
                continue
            owed.add(endpoint_id)
            self._store.webhook_deliveries.append(
                Delivery(
                    id=uuid.uuid4(),
                    event_id=event.id,
                    endpoint_id=endpoint_id,
                    endpoint_url=self._store.webhook_endpoints[endpoint_id].endpoint.url,
                    state=DeliveryState.PENDING,
                    attempts=0,
                    run_after=at,
                    scheduled_at=at,
                    finished_at=None,
                    last_error=None,
                )
            )
