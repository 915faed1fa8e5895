"""The worker leases deliveries in batches, sends a batch's requests several at a time and
records their outcomes in one transaction. Each outcome must still be recorded as if it
were alone: one attempt row per request, retries and give-ups per delivery, endpoint health
per endpoint, and nothing sent twice.

Each test has a database of its own (SQLite, and PostgreSQL when configured), so the
worker sees no other test's deliveries.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.bootstrap import Container
from refundry.domain.webhooks import DeliveryAttempt
from refundry.entrypoints.webhook_listener import ListenerState, running_listener
from refundry.services.handlers import webhook_delivery
from refundry.services.handlers.webhook_delivery import (
    WebhookWork,
    deliver_continuously,
    deliver_due_webhooks,
)
from tests.integration.webhook_batch_helpers import (
    POLICY,
    FakeSender,
    as_utc,
    deliveries,
    e,
    failing_since,
    owe,
    own_container,
    shop,
    work_with,
)
from tests.servers import free_port


@pytest.fixture
def container(own_database_url: str) -> Iterator[Container]:
    with own_container(own_database_url) as made:
        yield made


def test_a_batch_with_one_endpoint_failing_records_each_outcome_as_its_own(
    container: Container,
) -> None:
    # given a receiver that answers 200, one that answers 503, and a port nobody listens on
    happy, grumpy = ListenerState(), ListenerState(status_code=503)
    with (
        running_listener(free_port(), happy) as ok_url,
        running_listener(free_port(), grumpy) as bad,
    ):
        closed = f"http://127.0.0.1:{free_port()}/hooks"
        merchant_id, (ok, failing, down) = shop(container, [ok_url, bad, closed])
        for state, endpoint_id in ((happy, ok), (grumpy, failing)):
            with container.engine.connect() as connection:
                secret = connection.execute(
                    sa.select(e.c.secret).where(e.c.id == endpoint_id)
                ).scalar_one()
            state.signing_secrets.append(secret)
        events = owe(container, merchant_id, [ok, failing, down], orders=4)
        sender = HttpWebhookSender(POLICY.timeout, allow_private_networks=True)
        # when one batch takes all 12 deliveries and sends them 5 at a time
        started = datetime.now(UTC)
        handled = deliver_due_webhooks(work_with(container, sender, concurrency=5))
        sender.close()

    # then each receiver got each event once, signed
    assert handled == 12
    ids = sorted(str(event.id) for event in events)
    assert sorted(received.webhook_id for received in happy.delivered()) == ids
    assert sorted(received.webhook_id for received in grumpy.delivered()) == ids
    assert all(received.verified for received in happy.delivered() + grumpy.delivered())
    # and every delivery has exactly one attempt row, with its own outcome
    rows = deliveries(container)
    assert len(rows) == 12
    for event in events:
        delivered = rows[(event.id, ok)]
        assert (delivered["state"], delivered["attempts"], delivered["log"]) == (
            "delivered",
            1,
            [200],
        )
        assert delivered["leased_until"] is None
        for endpoint_id, code, error in ((failing, 503, "HTTP 503"), (down, None, "ConnectError")):
            retried = rows[(event.id, endpoint_id)]
            assert (retried["state"], retried["attempts"], retried["log"]) == ("pending", 1, [code])
            assert error in retried["last_error"]
            assert retried["leased_until"] is None
            # backs off half of the 30 s step (no jitter) from when the outcome was recorded
            run_after = as_utc(retried["run_after"])
            assert started + timedelta(seconds=15) < run_after < started + timedelta(seconds=45)
    # and only the failing endpoints are marked failing
    assert failing_since(container, ok) is None
    assert failing_since(container, failing) is not None
    assert failing_since(container, down) is not None


def test_an_endpoint_failing_for_days_is_disabled_by_a_batch_without_touching_the_others(
    container: Container,
) -> None:
    # given two endpoints, one of them failing for six days, and a batch's worth of events
    merchant_id, (ok, failing) = shop(container, ["https://ok.example/h", "https://bad.example/h"])
    with container.engine.begin() as connection:
        connection.execute(
            sa.update(e)
            .where(e.c.id == failing)
            .values(failing_since=datetime.now(UTC) - timedelta(days=6))
        )
    events = owe(container, merchant_id, [ok, failing], orders=3)
    sender = FakeSender(answers={"https://bad.example/h": 500})
    # when a batch of 4 leaves 2 deliveries of the failing endpoint unleased
    deliver_due_webhooks(work_with(container, sender, batch_size=4, concurrency=4))
    # then the failing endpoint is disabled, everything it was owed failed, and the other
    # endpoint's leased deliveries are delivered
    with container.engine.connect() as connection:
        status, reason = connection.execute(
            sa.select(e.c.status, e.c.disabled_reason).where(e.c.id == failing)
        ).one()
    assert status == "disabled"
    assert "500" in reason
    rows = deliveries(container)
    assert {rows[(event.id, failing)]["state"] for event in events} == {"failed"}
    sent_to_failing = [
        row for (_, endpoint), row in rows.items() if endpoint == failing and row["log"]
    ]
    assert all(row["log"] == [500] for row in sent_to_failing)
    leased_ok = [row for (_, endpoint), row in rows.items() if endpoint == ok and row["attempts"]]
    assert {row["state"] for row in leased_ok} == {"delivered"}
    assert failing_since(container, ok) is None
    # and the rest of the healthy endpoint's deliveries go out next
    deliver_due_webhooks(work_with(container, sender))
    after = deliveries(container)
    assert {after[(event.id, ok)]["state"] for event in events} == {"delivered"}


def test_an_endpoint_that_answers_any_request_of_a_batch_is_not_disabled(
    container: Container,
) -> None:
    # given an endpoint failing for six days that now answers one event and refuses another
    merchant_id, (endpoint,) = shop(container, ["https://flaky.example/h"])
    with container.engine.begin() as connection:
        connection.execute(sa.update(e).values(failing_since=datetime.now(UTC) - timedelta(days=6)))
    first, second = owe(container, merchant_id, [endpoint], orders=2)
    answers = {str(first.id): 200, str(second.id): 500}

    class Flaky(FakeSender):
        def send(self, url: str, message_id: str, *args: Any) -> DeliveryAttempt:
            attempt = super().send(url, message_id, *args)
            status = answers[message_id]
            return replace(attempt, status_code=status, error=None if status == 200 else "HTTP 500")

    # when both go out in one batch
    deliver_due_webhooks(work_with(container, Flaky()))
    # then it is not failing every delivery: enabled, healthy, the refused event retried
    with container.engine.connect() as connection:
        assert connection.execute(sa.select(e.c.status)).scalar_one() == "enabled"
    assert failing_since(container, endpoint) is None
    rows = deliveries(container)
    assert rows[(first.id, endpoint)]["state"] == "delivered"
    assert (rows[(second.id, endpoint)]["state"], rows[(second.id, endpoint)]["log"]) == (
        "pending",
        [500],
    )


def test_workers_running_side_by_side_send_every_delivery_once_in_sequence_order(
    container: Container,
) -> None:
    # given 30 orders of 3 events each, owed to 2 endpoints (180 deliveries)
    urls = ["https://a.example/h", "https://b.example/h"]
    merchant_id, endpoint_ids = shop(container, urls)
    events = owe(container, merchant_id, endpoint_ids, orders=30, events_each=3)
    sender = FakeSender()
    work = work_with(container, sender, batch_size=25, concurrency=6)
    # when two workers deliver at once, in batches of 25 sent 6 at a time
    threads = [threading.Thread(target=deliver_continuously, args=(work, 60.0)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then every (event, endpoint) was sent exactly once and recorded once
    expected = sorted((url, str(event.id)) for url in urls for event in events)
    assert sorted(sender.sent) == expected
    rows = deliveries(container)
    assert len(rows) == 180
    assert {(row["state"], row["attempts"], tuple(row["log"])) for row in rows.values()} == {
        ("delivered", 1, (200,))
    }


def test_a_batch_sends_an_orders_events_to_an_endpoint_in_sequence_order(
    container: Container,
) -> None:
    # given 20 orders of 3 events made at the same moment (as one commit makes them)
    merchant_id, (endpoint,) = shop(container, ["https://a.example/h"])
    events = owe(container, merchant_id, [endpoint], orders=20, events_each=3)
    sender = FakeSender()
    # when one batch sends them 8 at a time
    deliver_due_webhooks(work_with(container, sender, batch_size=100, concurrency=8))
    # then each order's events went out one after another, in sequence order
    sequence = {str(event.id): (event.order_id, event.sequence) for event in events}
    by_order: dict[uuid.UUID, list[int]] = {}
    for _, message_id in sender.sent:
        order_id, number = sequence[message_id]
        by_order.setdefault(order_id, []).append(number)
    assert len(sender.sent) == 60
    assert all(numbers == [1, 2, 3] for numbers in by_order.values())


def test_when_a_batch_cannot_be_recorded_at_once_each_outcome_is_recorded_alone(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant_id, endpoint_ids = shop(container, ["https://a.example/h", "https://b.example/h"])
    owe(container, merchant_id, endpoint_ids, orders=3)
    real = webhook_delivery.record_outcomes

    def only_one_at_a_time(uow: Any, work: WebhookWork, outcomes: Any, now: datetime) -> None:
        if len(outcomes) > 1:
            raise RuntimeError("a bug that a batch of outcomes runs into")
        real(uow, work, outcomes, now)

    monkeypatch.setattr(webhook_delivery, "record_outcomes", only_one_at_a_time)
    deliver_due_webhooks(work_with(container, FakeSender()))
    rows = deliveries(container)
    assert {(row["state"], tuple(row["log"])) for row in rows.values()} == {("delivered", (200,))}


def test_a_lease_must_outlast_the_request_timeout() -> None:
    with pytest.raises(ValueError, match="outlast"):
        WebhookWork(None, FakeSender(), POLICY, lease=timedelta(seconds=2))  # type: ignore[arg-type]
