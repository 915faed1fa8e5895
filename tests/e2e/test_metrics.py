"""``GET /metrics``: what a refund shows there, route templates rather than paths, the
optional token, and the counters of several processes added up (multiprocess mode)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.adapters import metrics
from refundry.bootstrap import Container
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.api.metrics import REFUND_TOTALS_SECONDS, StoredStateCollector
from refundry.entrypoints.worker_metrics import worker_metrics_server
from tests.conftest import Api, order_body
from tests.metrics_scrape import Scrape
from tests.servers import free_port

HTTP_COUNT = "refundry_http_request_duration_seconds_count"
PROVIDER_CALLS = "refundry_provider_call_duration_seconds_count"


@pytest.fixture
def client(sqlite_container: Container) -> Iterator[TestClient]:
    """For what does not depend on the database: SQLite only."""
    with TestClient(create_app(sqlite_container), raise_server_exceptions=False) as client:
        yield client


def scrape(api: Api | TestClient) -> Scrape:
    client = api.client if isinstance(api, Api) else api
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape.of(response.text)


def test_a_refund_shows_in_requests_by_route_template_provider_calls_and_stored_refunds(
    api: Api,
) -> None:
    clock = [0.0]  # the collector's: when it last counted every refund
    api.client.app.state.stored_state = StoredStateCollector(  # type: ignore[attr-defined]
        api.container, clock=lambda: clock[0]
    )
    before = scrape(api)
    order = api.client.post("/v1/orders", json=order_body()).json()
    made = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 500})
    assert made.status_code == 201, made.text
    waiting = scrape(api)
    api.settle()  # the worker's provider work, in-process: the sandbox settles it
    assert api.client.get(f"/v1/refunds/{made.json()['id']}").json()["status"] == "completed"
    clock[0] += REFUND_TOTALS_SECONDS
    after = scrape(api)

    refund_route = {"method": "POST", "route": "/v1/orders/{order_id}/refund", "status": "201"}
    assert after.value(HTTP_COUNT, **refund_route) == before.value(HTTP_COUNT, **refund_route) + 1
    read_route = {"method": "GET", "route": "/v1/refunds/{refund_id}", "status": "200"}
    assert after.value(HTTP_COUNT, **read_route) == before.value(HTTP_COUNT, **read_route) + 1
    routes = after.label_values("refundry_http_request_duration_seconds", "route")
    assert not any(order["id"] in route or made.json()["id"] in route for route in routes)
    # The sandbox gateway was asked to refund it (settle also sends what other tests left
    # in the session's outbox: at least one call, then).
    call = {"provider": "sandbox", "operation": "refund", "outcome": "ok"}
    assert after.value(PROVIDER_CALLS, **call) >= before.value(PROVIDER_CALLS, **call) + 1
    # In flight while it waited for the gateway (read at every scrape), then not; the
    # count of every refund, read at most every REFUND_TOTALS_SECONDS, then has it.
    started = {"status": "started", "provider": "sandbox"}
    in_flight = "refundry_refunds_in_flight"
    assert waiting.value(in_flight, **started) == before.value(in_flight, **started) + 1
    assert after.value(in_flight, **started) <= before.value(in_flight, **started)
    assert waiting.value("refundry_refunds", **started) == before.value(
        "refundry_refunds", **started
    )
    completed = {"status": "completed", "provider": "sandbox"}
    total = "refundry_refunds"
    assert after.value(total, **completed) >= before.value(total, **completed) + 1
    assert after.value("refundry_stored_state_up") == 1
    # Every queue figure is there, for every topic, even at zero.
    for family in ("pending", "due", "failed"):
        assert after.label_values(f"refundry_outbox_messages_{family}", "topic") == {
            "provider.refund",
            "provider.void_authorization",
            "provider.refund_event",
        }
    for family in ("pending", "due", "failed"):
        assert f"refundry_webhook_deliveries_{family}" in after.families
    assert "refundry_outbox_oldest_due_age_seconds" in after.families
    assert "refundry_webhook_oldest_due_age_seconds" in after.families
    # Labels are aggregates: no merchant, order or refund appears in any of them.
    text = api.client.get("/metrics").text
    assert str(api.merchant.merchant.id) not in text


def test_routes_are_named_by_template_and_the_unrouted_are_one_series(
    client: TestClient,
) -> None:
    before = scrape(client)
    client.get("/v1/orders/d8b8f4a2-8d0e-4a8e-9f59-2f1f5b8f2c11")  # no key: 401, by template
    client.get("/no/such/page")
    client.get("/openapi.json")
    client.get("/docs-assets/swagger-ui.css")
    client.get("/dashboard/no-such-page")
    client.request("BREW", "/livez")  # a made-up method: one "other" series
    after = scrape(client)

    def grew(method: str, route: str, status: str) -> bool:
        labels = {"method": method, "route": route, "status": status}
        return after.value(HTTP_COUNT, **labels) == before.value(HTTP_COUNT, **labels) + 1

    assert grew("GET", "/v1/orders/{order_id}", "401")
    assert grew("GET", "unmatched", "404")
    assert grew("GET", "/openapi.json", "200")
    assert grew("GET", "/docs-assets/{path}", "200")
    assert grew("GET", "/dashboard/{path}", "404")
    assert grew("other", "/livez", "405")


def test_a_metrics_token_is_asked_for_when_set(sqlite_container: Container) -> None:
    settings = replace(sqlite_container.settings, metrics_token="scrape-me")
    with TestClient(create_app(replace(sqlite_container, settings=settings))) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["type"].endswith("/unauthenticated")
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert allowed.status_code == 200
        assert "refundry_refunds" in Scrape.of(allowed.text).families
        assert client.get("/livez").status_code == 200  # probes never ask


WRITER = """
from refundry.adapters import metrics
from refundry.bootstrap import Container
from refundry.domain.errors import ProviderUnavailable

metrics.WORKER_ROUNDS.inc()
metrics.count_outbox_answers([None, ProviderUnavailable("down")])
with metrics.provider_call("klarna", "refund"):
    pass
"""


def test_counters_of_processes_sharing_a_multiprocess_directory_add_up(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes count with PROMETHEUS_MULTIPROC_DIR set, as two API workers or a
    # worker beside them would; the scrape of a third (this one, in that mode) adds up.
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        )
        for _ in range(2)
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    monkeypatch.setattr(metrics, "MULTIPROCESS_DIR", str(tmp_path))

    scraped = scrape(client)

    assert scraped.value("refundry_worker_rounds_total") == 2
    assert scraped.value("refundry_worker_messages_total", queue="outbox", outcome="ok") == 2
    assert scraped.value("refundry_worker_messages_total", queue="outbox", outcome="failed") == 2
    call = {"provider": "klarna", "operation": "refund", "outcome": "ok"}
    assert scraped.value(PROVIDER_CALLS, **call) == 2
    assert scraped.value("refundry_stored_state_up") == 1  # the database's figures beside


def test_the_worker_serves_its_metrics_on_its_port_with_the_token() -> None:
    with worker_metrics_server(Settings()) as nothing:
        assert nothing is None  # off by default
    settings = Settings(
        worker_metrics_host="127.0.0.1",
        worker_metrics_port=free_port(),
        metrics_token="scrape-me",
    )
    with worker_metrics_server(settings) as server:
        assert server is not None
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert httpx.get(url).status_code == 401
        metrics.WORKER_ROUNDS.inc()
        answered = httpx.get(url, headers={"Authorization": "Bearer scrape-me"})
        assert answered.status_code == 200
        assert Scrape.of(answered.text).value("refundry_worker_rounds_total") >= 1


def test_a_silent_client_holds_up_no_scrape_of_the_workers_metrics() -> None:
    settings = Settings(worker_metrics_host="127.0.0.1", worker_metrics_port=free_port())
    with worker_metrics_server(settings) as server, socket.socket() as silent:
        assert server is not None
        # given a client that connects and sends nothing
        silent.connect(("127.0.0.1", server.server_port))
        # then a scrape is still answered
        answered = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
        assert answered.status_code == 200


def test_a_taken_metrics_port_leaves_the_worker_running_without_metrics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(worker_metrics_host="127.0.0.1", worker_metrics_port=port)
        with caplog.at_level(logging.ERROR), worker_metrics_server(settings) as server:
            assert server is None  # no exception: the jobs run on
    assert any("runs on without them" in record.getMessage() for record in caplog.records)
