"""A batch's leases: a request starts only while its lease has room for it, what had no
room is handed back unsent, a delivery another worker took over after the lease ran out
is left to it, and on PostgreSQL the lease's commit does not wait for the WAL flush."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from refundry.adapters.db.webhook_event_repository import SqlWebhookEventRepository
from refundry.bootstrap import Container
from refundry.services.handlers.webhook_delivery import deliver_due_webhooks
from tests.conftest import fresh_postgres_database
from tests.integration.webhook_batch_helpers import (
    Clock,
    FakeSender,
    as_utc,
    d,
    deliveries,
    owe,
    own_container,
    shop,
    work_with,
)


@pytest.fixture
def container(own_database_url: str) -> Iterator[Container]:
    with own_container(own_database_url) as made:
        yield made


def test_requests_a_lease_has_no_room_for_are_handed_back_unsent_and_sent_next_time(
    container: Container,
) -> None:
    # given a worker whose lease leaves room to start requests for 4 s (lease 10 s,
    # timeout 2 s), sending one at a time, each request taking 3 s of its clock
    merchant_id, (endpoint,) = shop(container, ["https://slow.example/h"])
    events = owe(container, merchant_id, [endpoint], orders=3)
    clock = Clock()
    sender = FakeSender(on_send=lambda *_: setattr(clock, "now", clock.now + timedelta(seconds=3)))
    work = work_with(container, sender, lease=timedelta(seconds=10), concurrency=1, clock=clock)
    # when one batch leases all three
    assert deliver_due_webhooks(work) == 3
    # then two were sent (at 0 s and 3 s) and the third was handed back untried
    assert len(sender.sent) == 2
    rows = deliveries(container)
    unsent = [row for row in rows.values() if not row["log"]]
    assert len(unsent) == 1
    assert (unsent[0]["state"], unsent[0]["attempts"], unsent[0]["leased_until"]) == (
        "pending",
        0,
        None,
    )
    assert sorted(row["state"] for row in rows.values()) == ["delivered", "delivered", "pending"]
    # and the next batch sends it: each event once in all
    assert deliver_due_webhooks(work) == 1
    assert sorted(message for _, message in sender.sent) == sorted(str(e.id) for e in events)
    assert all(row["log"] == [200] for row in deliveries(container).values())


def test_a_delivery_taken_over_after_its_lease_ran_out_keeps_the_attempt_but_not_the_outcome(
    container: Container,
) -> None:
    # given a batch of three, and another worker that takes the first one over while it is
    # being sent (as if this worker had stalled past its lease)
    merchant_id, (endpoint,) = shop(container, ["https://ok.example/h"])
    first, *_ = owe(container, merchant_id, [endpoint], orders=3)
    theirs = datetime.now(UTC) + timedelta(minutes=5)

    def take_over(_url: str, message_id: str) -> None:
        if message_id == str(first.id):
            with container.engine.begin() as connection:
                connection.execute(
                    sa.update(d)
                    .where(d.c.event_id == first.id)
                    .values(leased_until=theirs, attempts=d.c.attempts + 1)
                )

    work = work_with(container, FakeSender(on_send=take_over), concurrency=3)
    # when this worker records its batch
    deliver_due_webhooks(work)
    # then the request it made is in the log, but the delivery is the other worker's
    rows = deliveries(container)
    taken = rows[(first.id, endpoint)]
    assert (taken["state"], taken["log"], taken["attempts"]) == ("pending", [200], 2)
    assert as_utc(taken["leased_until"]) == theirs
    others = [row for (event_id, _), row in rows.items() if event_id != first.id]
    assert [(row["state"], row["log"]) for row in others] == [("delivered", [200])] * 2


@pytest.fixture
def postgres_only() -> Iterator[Container]:
    """A PostgreSQL database of this test's own (synchronous_commit is PostgreSQL's)."""
    with fresh_postgres_database() as url, own_container(url) as made:
        yield made


@pytest.mark.postgres
def test_on_postgresql_only_the_lease_transaction_skips_waiting_for_the_wal_flush(
    postgres_only: Container,
) -> None:
    container = postgres_only
    merchant_id, endpoint_ids = shop(container, ["https://a.example/h"])
    owe(container, merchant_id, endpoint_ids, orders=2)
    now = datetime.now(UTC)
    with container.engine.connect() as connection:
        leased = SqlWebhookEventRepository(connection).lease_due(
            now, limit=10, lease_until=now + timedelta(minutes=1)
        )
        assert len(leased) == 2
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        connection.commit()
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
