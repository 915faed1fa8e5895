"""A worker killed in the middle of a webhook delivery: the event goes out again, with
the same id, once the dead worker's lease has run out. At-least-once, never at-most-once.

The worker is a real ``refundry worker`` process; the receiver is the loopback listener,
which verifies every request with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.webhook_listener import ListenerState, Received, running_listener
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests import servers
from tests.conftest import order_body
from tests.servers import free_port, wait_for

TIMEOUT_SECONDS = 2  # the worker's request timeout; its delivery lease is three times this
HANG_SECONDS = 5  # longer than the request timeout: only the kill ends the first request


@contextmanager
def worker_process(database_url: str, psp_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        "REFUNDRY_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver is on loopback
    }
    with servers.worker_process(database_url, psp_url, env) as process:
        yield process


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_leaves_the_event_delivered_again_with_the_same_id(
    own_database_url: str, sandbox_psp_url: str
) -> None:
    container = bootstrap(
        Settings(
            database_url=own_database_url,
            sandbox_psp_url=sandbox_psp_url,
            webhook_allow_private_networks=True,  # the receiver listens on loopback
        )
    )
    first_arrived = threading.Event()
    state = ListenerState(hang_seconds=HANG_SECONDS)

    def on_receive(_received: Received) -> None:
        # The first request hangs; every later one is answered at once.
        if first_arrived.is_set():
            state.hang_seconds = 0
        first_arrived.set()

    state.on_receive = on_receive
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Crash"))
    with (
        running_listener(free_port(), state) as url,
        TestClient(create_app(container)) as client,
    ):
        client.headers["Authorization"] = f"Bearer {merchant.api_key}"
        # given an endpoint for refunds, and a refund made through the API
        made = client.post(
            "/v1/webhook-endpoints", json={"url": url, "enabled_events": ["refunded"]}
        )
        assert made.status_code == 201, made.text
        state.signing_secrets.append(made.json()["secret"])
        order = client.post("/v1/orders", json=order_body()).json()
        refunded = client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1234})
        assert refunded.status_code == 201, refunded.text
        [event] = client.get("/v1/events", params={"order_id": order["id"]}).json()["data"]
        assert event["type"] == "refunded"

        def deliveries() -> list[dict[str, Any]]:
            answer = client.get(f"/v1/events/{event['id']}/deliveries")
            assert answer.status_code == 200, answer.text
            found: list[dict[str, Any]] = answer.json()["data"]
            return found

        # when a worker sends it and is killed -9 while the receiver hangs
        with worker_process(own_database_url, sandbox_psp_url) as first:
            assert first_arrived.wait(timeout=60), "the first delivery never arrived"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        [delivery] = deliveries()
        assert delivery["state"] == "pending"
        assert delivery["log"] == []  # the killed attempt recorded nothing
        # and a new worker starts while the receiver answers normally
        with worker_process(own_database_url, sandbox_psp_url):
            wait_for(
                lambda: deliveries()[0]["state"] == "delivered",
                seconds=60,
                what="the event to be delivered by the second worker",
            )
        [delivery] = deliveries()

    # then the receiver got the same event twice, under the same id, both signed
    first_copy, second_copy = state.delivered()
    assert first_copy.webhook_id == second_copy.webhook_id == event["id"]
    assert first_copy.body == second_copy.body
    assert first_copy.payload == event["payload"]
    assert first_copy.verified_with == second_copy.verified_with == (0,)
    # and the delivery log shows one answered attempt after the lost one
    assert delivery["state"] == "delivered"
    assert delivery["attempts"] == 2
    assert [attempt["status_code"] for attempt in delivery["log"]] == [200]
    container.engine.dispose()
