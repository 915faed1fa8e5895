"""What the webhook batch tests share: a database of a test's own, a fake sender and
clock, and helpers to owe events and read deliveries back."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.webhooks import DeliveryAttempt, DeliveryPolicy, EventType, WebhookEvent
from refundry.services import transactions
from refundry.services.handlers import webhooks
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.webhook_delivery import WebhookWork

d, a, e = (
    webhook_tables.webhook_deliveries,
    webhook_tables.webhook_attempts,
    webhook_tables.webhook_endpoints,
)
POLICY = DeliveryPolicy(timeout=timedelta(seconds=2), retry_base=timedelta(seconds=30))


@contextmanager
def own_container(database_url: str) -> Iterator[Container]:
    made = bootstrap(Settings(database_url=database_url, webhook_allow_private_networks=True))
    try:
        yield made
    finally:
        made.webhook_work.sender.close()  # type: ignore[attr-defined]
        made.engine.dispose()


@dataclass
class FakeSender:
    """Answers each URL with its status (200 unless told), and notes every request."""

    answers: dict[str, int] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (url, message id)
    on_send: Callable[[str, str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Any, now: datetime
    ) -> DeliveryAttempt:
        with self.lock:
            self.sent.append((url, message_id))
        if self.on_send is not None:
            self.on_send(url, message_id)
        status = self.answers.get(url, 200)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return DeliveryAttempt(now, status, 1, '{"ok":true}', error)


@dataclass
class Clock:
    """The worker's clock, moved by hand."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


def shop(container: Container, urls: list[str]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Shop"))
    endpoints = [
        transactions.run(
            container.uow_factory,
            lambda uow: webhooks.create_endpoint(
                uow,
                merchant.merchant.id,
                url=url,
                enabled_events=list(EventType),
                description=None,
                allow_private_networks=True,  # receivers in tests listen on loopback
            ),
        ).id
        for url in urls
    ]
    return merchant.merchant.id, endpoints


def owe(
    container: Container,
    merchant_id: uuid.UUID,
    endpoint_ids: list[uuid.UUID],
    orders: int,
    events_each: int = 1,
) -> list[WebhookEvent]:
    """Events for ``orders`` orders (numbered 1, 2... each), owed to every endpoint."""
    made = []
    now = datetime.now(UTC) - timedelta(seconds=1)
    for _ in range(orders):
        order_id = uuid.uuid4()
        for sequence in range(1, events_each + 1):
            event_id = uuid.uuid4()
            body = json.dumps({"id": str(event_id), "data": {"sequence": sequence}})
            made.append(
                WebhookEvent(
                    event_id, merchant_id, order_id, EventType.REFUNDED, sequence, body, now
                )
            )
    transactions.run(
        container.uow_factory,
        lambda uow: [uow.webhook_events.add(event, endpoint_ids) for event in made],
    )
    return made


def deliveries(container: Container) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]:
    """Every delivery by (event, endpoint), with its attempt rows' status codes."""
    with container.engine.connect() as connection:
        rows = connection.execute(sa.select(d)).mappings().all()
        attempts = connection.execute(sa.select(a)).mappings().all()
    logs: dict[uuid.UUID, list[int | None]] = {}
    for attempt in attempts:
        logs.setdefault(attempt["delivery_id"], []).append(attempt["status_code"])
    return {
        (row["event_id"], row["endpoint_id"]): {**row, "log": logs.get(row["id"], [])}
        for row in rows
    }


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def failing_since(container: Container, endpoint_id: uuid.UUID) -> datetime | None:
    with container.engine.connect() as connection:
        since: datetime | None = connection.execute(
            sa.select(e.c.failing_since).where(e.c.id == endpoint_id)
        ).scalar_one()
    return since


def work_with(container: Container, sender: Any, **changes: Any) -> WebhookWork:
    return replace(
        WebhookWork(container.uow_factory, sender, POLICY, jitter=lambda: 0.0), **changes
    )
