"""The outbox's backlog and webhook deliveries on ``/metrics``: counted from the stored
rows, with the age of the longest-waiting due one, on a database of this test's own."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables.messages import outbox_messages
from refundry.adapters.db.tables.webhooks import webhook_deliveries
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.clock import utcnow
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import order_body
from tests.metrics_scrape import Scrape


def test_backlog_and_oldest_due_age_follow_the_queues_rows(own_database_url: str) -> None:
    container = bootstrap(
        Settings(database_url=own_database_url, webhook_allow_private_networks=True)
    )
    now = utcnow()

    def message(topic: str, due_in: timedelta, state: str = "pending") -> dict[str, object]:
        return {
            "id": uuid.uuid4(),
            "merchant_id": uuid.uuid4(),
            "order_id": None,
            "topic": topic,
            "payload": json.dumps({}),
            "state": state,
            "attempts": 0,
            "run_after": now + due_in,
            "created_at": now - timedelta(hours=2),
        }

    try:
        with TestClient(create_app(container)) as client:
            empty = Scrape.of(client.get("/metrics").text)
            assert empty.value("refundry_outbox_messages_pending", topic="provider.refund") == 0
            assert (
                empty.value("refundry_outbox_oldest_due_age_seconds", topic="provider.refund") == 0
            )

            with container.engine.begin() as connection:
                connection.execute(
                    sa.insert(outbox_messages),
                    [
                        message("provider.refund", -timedelta(minutes=10)),
                        message("provider.refund", -timedelta(minutes=3)),
                        message("provider.refund", timedelta(hours=1)),  # a poll, later
                        message("provider.void_authorization", timedelta(minutes=5)),
                        message("provider.void_authorization", -timedelta(days=1), "failed"),
                    ],
                )
            scraped = Scrape.of(client.get("/metrics").text)
            hooks = _two_webhook_deliveries_one_failed(client, container)
    finally:
        container.engine.dispose()

    def figure(name: str, topic: str) -> float:
        return scraped.value(f"refundry_outbox_{name}", topic=topic)

    assert figure("messages_pending", "provider.refund") == 3
    assert figure("messages_due", "provider.refund") == 2
    assert figure("messages_failed", "provider.refund") == 0
    # Due ten minutes ago, when the scrape began at the earliest: ten minutes at least,
    # and nowhere near the two hours since it was written.
    waited = figure("oldest_due_age_seconds", "provider.refund")
    assert 600 <= waited < 3600
    assert figure("messages_pending", "provider.void_authorization") == 1
    assert figure("messages_due", "provider.void_authorization") == 0
    assert figure("messages_failed", "provider.void_authorization") == 1
    assert figure("oldest_due_age_seconds", "provider.void_authorization") == 0  # none is due
    assert figure("messages_pending", "provider.refund_event") == 0
    assert scraped.value("refundry_webhook_deliveries_pending") == 0
    assert hooks.value("refundry_webhook_deliveries_pending") == 1
    assert hooks.value("refundry_webhook_deliveries_due") == 1
    assert hooks.value("refundry_webhook_deliveries_failed") == 1
    assert 1200 <= hooks.value("refundry_webhook_oldest_due_age_seconds") < 3600
    # Their two refunds wait for the card gateway (no worker runs here): in flight.
    waiting = {"status": "started", "provider": "sandbox"}
    assert hooks.value("refundry_refunds_in_flight", **waiting) == 2


def _two_webhook_deliveries_one_failed(client: TestClient, container: Container) -> Scrape:
    """Two refunds' ``refunded`` events to one endpoint: one delivery due 20 minutes ago,
    the other given up."""
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Q"))
    client.headers["Authorization"] = f"Bearer {merchant.api_key}"
    endpoint = client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["refunded"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    order = client.post("/v1/orders", json=order_body()).json()
    for _ in range(2):
        made = client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100})
        assert made.status_code == 201, made.text
    d = webhook_deliveries
    with container.engine.begin() as connection:
        first, second = connection.execute(sa.select(d.c.id).order_by(d.c.run_after)).scalars()
        ago = utcnow() - timedelta(minutes=20)
        connection.execute(sa.update(d).where(d.c.id == first).values(run_after=ago))
        connection.execute(sa.update(d).where(d.c.id == second).values(state="failed"))
    return Scrape.of(client.get("/metrics").text)
