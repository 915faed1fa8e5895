"""Reads that may lag go to a streaming replica; writes and reads after a write do not
(issue 23, ``REFUNDRY_READ_DATABASE_URL``).

A small primary of its own and its replica (``pg_basebackup -R``) on loopback. The replica's
replay is paused while the test writes: what the replica serves then cannot hold the new
rows, so each read shows which server answered it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from refundry.services.views.replication import replica_lag_seconds
from refundry.services.views.verify import verify
from tests.conftest import order_body
from tests.e2e.test_dashboard import make_user, sign_in
from tests.e2e.test_reports_api import RANGE
from tests.postgres_servers import primary_with_replica
from tests.servers import wait_for

pytestmark = pytest.mark.postgres


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def replicated() -> Iterator[tuple[Container, str, str]]:
    with primary_with_replica() as (primary, replica):
        container = bootstrap(
            Settings(
                database_url=primary,
                read_database_url=replica,
                dashboard_secure_cookies=False,
                rate_limit_per_second=0,
                sign_in_attempts_per_minute=0,
            )
        )
        yield container, _libpq(primary), _libpq(replica)
        container.dispose()


def caught_up(primary: str, replica: str) -> bool:
    with psycopg.connect(primary, autocommit=True) as source:
        written = source.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    with psycopg.connect(replica, autocommit=True) as copy:
        found = copy.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written and written[0],)
        ).fetchone()
    return bool(found and found[0])


def scraped(client: TestClient, name: str) -> float:
    """One gauge's value from ``GET /metrics``, as Prometheus would parse it."""
    text = client.get("/metrics").text
    [value] = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]
    return value


def replay(replica: str, *, paused: bool) -> None:
    with psycopg.connect(replica, autocommit=True) as copy:
        copy.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def test_reports_exports_lists_and_verify_read_the_replica_and_writes_never_do(
    replicated: tuple[Container, str, str],
) -> None:
    container, primary, replica = replicated
    # given a merchant and a staff member, replicated, and then the replica's replay paused
    shop: NewMerchant = transactions.run(
        container.uow_factory,
        lambda uow: create_merchant(uow, f"Replicated {uuid.uuid4().hex[:6]}"),
    )
    email = make_user(container, shop.merchant.id, Role.ADMIN)
    wait_for(lambda: caught_up(primary, replica), seconds=30, what="the replica to catch up")
    assert replica_lag_seconds(container.lagging_reads) == 0
    assert replica_lag_seconds(container.read_models) is None  # the primary has no lag
    replay(replica, paused=True)
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {shop.api_key}"
            # when an order is placed and refunded: a write, and a read under the order's
            # lock, of an order the replica has not got (there they would fail or not find it)
            placed = client.post("/v1/orders", json=order_body())
            assert placed.status_code == 201, placed.text
            order = placed.json()
            refunded = client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 500})
            assert refunded.status_code == 201, refunded.text
            # then the client reads its own writes at once: the order and the refund
            assert client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 500
            assert client.get(f"/v1/refunds/{refunded.json()['id']}").status_code == 200
            sign_in(client, email)
            assert client.get(f"/dashboard/orders/{order['id']}").status_code == 200
            # and the reads that may lag come from the paused replica: not there yet
            assert client.get(f"/v1/reports/refunds?{RANGE}").json()["total"] == 0
            csv = client.get(f"/v1/reports/refunds.csv?{RANGE}").text
            assert order["id"] not in csv
            listed = client.get("/dashboard/orders", params={"query": order["id"]}).text
            assert order["external_id"] not in listed
            assert verify(container.lagging_reads, shop.merchant.id).orders == 0
            assert verify(container.read_models, shop.merchant.id).orders == 1
            wait_for(
                lambda: (replica_lag_seconds(container.lagging_reads) or 0) > 0,
                seconds=30,
                what="the replica to receive WAL it has not applied",
            )
            # and the metrics show the replica up and behind
            assert scraped(client, "refundry_replica_up") == 1
            assert scraped(client, "refundry_replica_lag_seconds") > 0
            # when the replica replays again
            replay(replica, paused=False)
            wait_for(lambda: caught_up(primary, replica), seconds=30, what="the catch-up")
            # then the lagging reads see it all
            assert client.get(f"/v1/reports/refunds?{RANGE}").json()["total"] == 1
            assert order["id"] in client.get(f"/v1/reports/refunds.csv?{RANGE}").text
            listed = client.get("/dashboard/orders", params={"query": order["id"]}).text
            assert order["external_id"] in listed
            assert verify(container.lagging_reads, shop.merchant.id).orders == 1
            assert replica_lag_seconds(container.lagging_reads) == 0
            assert scraped(client, "refundry_replica_lag_seconds") == 0
    finally:
        replay(replica, paused=False)


def test_a_read_replica_needs_postgresql_on_both_sides() -> None:
    with pytest.raises(ValueError, match="SQLite has no replicas"):
        Settings(database_url="sqlite:///x.db", read_database_url="postgresql://h/db")
