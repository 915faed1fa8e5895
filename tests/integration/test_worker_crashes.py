"""The worker as its own process against the sandbox gateway: killed, starved, doubled.

Whatever happens to the worker or the gateway, every refund is paid exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests import servers
from tests.conftest import fresh_postgres_database, order_body, sandbox_psp_server
from tests.servers import free_port, running_server, venv_script, wait_for

FAST = {"REFUNDRY_PROVIDER_TIMEOUT_SECONDS": "5", "REFUNDRY_OUTBOX_LEASE_SECONDS": "6"}


@contextmanager
def worker_process(database_url: str, psp_url: str) -> Iterator[subprocess.Popen[bytes]]:
    with servers.worker_process(database_url, psp_url, FAST) as process:
        yield process


def make_refunds(container: Container, count: int) -> list[str]:
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "W"))
    ids = []
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {merchant.api_key}"
        for _ in range(count):
            order = client.post("/v1/orders", json=order_body()).json()
            made = client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1234})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    return ids


def refund_statuses(container: Container, refund_ids: list[str]) -> list[str]:
    with container.engine.connect() as connection:
        rows = connection.execute(
            order_tables.refunds.select().where(
                order_tables.refunds.c.id.in_([uuid.UUID(i) for i in refund_ids])
            )
        ).all()
    return [row.status for row in rows]


def psp_state(base: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{base}/_sandbox/state").json()
    return state


def test_a_worker_killed_mid_refund_leaves_the_refund_paid_exactly_once(
    own_database_url: str,
) -> None:
    database_url = own_database_url
    with sandbox_psp_server() as psp:
        container = bootstrap(Settings(database_url=database_url, sandbox_psp_url=psp))
        # given the gateway will do the next call's work and then hang before answering
        httpx.post(f"{psp}/_sandbox/faults", json={"hang_next": 1, "hang_seconds": 30})
        [refund_id] = make_refunds(container, 1)
        # when a worker sends the refund and is killed -9 while waiting for the answer
        with worker_process(database_url, psp) as first:
            wait_for(
                lambda: psp_state(psp)["refund_requests"].get(refund_id) == 1,
                seconds=60,
                what="the worker's refund to reach the gateway",
            )
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        assert refund_statuses(container, [refund_id]) == ["started"]
        # and a new worker starts once the dead one's lease has run out
        with worker_process(database_url, psp):
            wait_for(
                lambda: refund_statuses(container, [refund_id]) == ["completed"],
                seconds=60,
                what="the refund to complete",
            )
        # then the gateway was asked twice with the same key and paid once
        state = psp_state(psp)
        assert state["refund_requests"][refund_id] == 2
        paid = [r for r in state["refunds"] if r["metadata"]["refundry_refund_id"] == refund_id]
        assert len(paid) == 1
        container.engine.dispose()


def test_a_gateway_down_for_a_while_then_back_completes_the_refund(
    own_database_url: str,
) -> None:
    database_url = own_database_url
    # given the gateway is down (nothing listens on its port)
    port = free_port()
    psp = f"http://127.0.0.1:{port}"
    container = bootstrap(Settings(database_url=database_url, sandbox_psp_url=psp))
    [refund_id] = make_refunds(container, 1)
    with worker_process(database_url, psp):
        # when the worker tries and fails for a while
        def last_error() -> str | None:
            with container.engine.connect() as connection:
                error: str | None = connection.execute(
                    message_tables.outbox_messages.select()
                    .with_only_columns(message_tables.outbox_messages.c.last_error)
                    .where(message_tables.outbox_messages.c.payload.contains(refund_id))
                ).scalar_one()
            return error

        wait_for(lambda: last_error() is not None, seconds=30, what="a failed attempt")
        assert refund_statuses(container, [refund_id]) == ["started"]
        # and then the gateway comes back
        command = [venv_script("refundry"), "sandbox-psp", "--port", str(port)]
        with running_server(command, port=port) as base:
            httpx.post(f"{base}/_sandbox/faults", json={"settle_seconds": 0})
            # then the refund completes, paid once
            wait_for(
                lambda: refund_statuses(container, [refund_id]) == ["completed"],
                seconds=90,
                what="the refund to complete after the gateway came back",
            )
            assert psp_state(base)["refund_requests"] == {refund_id: 1}
    container.engine.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_the_same_refund() -> None:
    with fresh_postgres_database() as postgres_url, sandbox_psp_server() as psp:
        # given many refunds waiting, and a gateway slow enough for the workers to overlap
        container = bootstrap(Settings(database_url=postgres_url, sandbox_psp_url=psp))
        refund_ids = make_refunds(container, 30)
        httpx.post(f"{psp}/_sandbox/faults", json={"latency_ms": 40})
        # when two workers drain the outbox side by side
        with worker_process(postgres_url, psp), worker_process(postgres_url, psp):
            wait_for(
                lambda: set(refund_statuses(container, refund_ids)) == {"completed"},
                seconds=120,
                what="every refund to complete",
            )
        # then each refund was sent exactly once
        requests = psp_state(psp)["refund_requests"]
        assert {key: requests.get(key) for key in refund_ids} == dict.fromkeys(refund_ids, 1)
        container.engine.dispose()
