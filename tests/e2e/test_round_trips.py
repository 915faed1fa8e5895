"""Round trips to PostgreSQL, counted on the wire: what a keyed partial refund and a
cancel cost (issue 20), and what an API key's read leaves behind.

``before_cursor_execute`` (the statement budget in ``test_structure_guards.py``) does not
see the pool's pre-ping, BEGIN, COMMIT, ROLLBACK or psycopg's DEALLOCATE: libpq's trace
of each connection does. A round trip is a turn of the conversation: the driver sends
messages up to a ``Sync`` (extended protocol) or a ``Query`` (simple protocol), then waits
for the server's ``ReadyForQuery``. Turns are counted by what the driver sent: libpq
traces an answer only when it next reads the socket, so the last answer of a request
can show up in the trace after the next request's first message.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import Api, assert_no_drift, order_body

pytestmark = pytest.mark.postgres

# What one keyed request costs, pre-ping to COMMIT, with one subscribed webhook endpoint.
ROUND_TRIP_BUDGET = 16


@dataclass
class WireTrace:
    """libpq's trace of every connection the engine opens, from its first message."""

    files: list[IO[bytes]] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._trace)
        engine.dispose()  # a connection opened before now would go untraced

    def _trace(self, dbapi_connection: Any, _record: Any) -> None:
        traced = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        pgconn = dbapi_connection.pgconn
        pgconn.trace(traced.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        self.files.append(traced)

    def mark(self) -> None:
        self.marks = [traced.seek(0, 2) for traced in self.files]

    def conversations(self) -> list[list[str]]:
        """Each connection's messages since the mark (psycopg writes them unbuffered)."""
        talks = []
        for index, traced in enumerate(self.files):
            traced.seek(self.marks[index] if index < len(self.marks) else 0)
            talks.append(traced.read().decode(errors="replace").splitlines())
        return talks

    def opened_since_mark(self) -> int:
        return len(self.files) - len(self.marks)

    def round_trips(self) -> list[str]:
        """One entry per turn: the first message the driver sent in it."""
        turns = []
        for lines in self.conversations():
            first: str | None = None
            for line in lines:
                fields = line.split("\t")
                if fields[0] != "F":
                    continue  # an answer, or a multi-line statement's next line
                message = " ".join(fields[2:])[:120]
                first = first or message
                if fields[2] in ("Sync", "Query"):
                    turns.append(first)
                    first = None
        return turns

    def close(self) -> None:
        for traced in self.files:
            traced.close()


@pytest.fixture
def traced(postgres_url: str, sandbox_psp_url: str) -> Iterator[tuple[Api, WireTrace]]:
    container: Container = bootstrap(
        Settings(
            database_url=postgres_url,
            sandbox_psp_url=sandbox_psp_url,
            webhook_allow_private_networks=True,
            dashboard_secure_cookies=False,
            rate_limit_per_second=0,
            sign_in_attempts_per_minute=0,
        )
    )
    trace = WireTrace()
    trace.attach(container.engine)
    merchant = transactions.run(
        container.uow_factory, lambda uow: create_merchant(uow, f"Shop {uuid.uuid4().hex[:6]}")
    )
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            client.headers.update({"Authorization": f"Bearer {merchant.api_key}"})
            api = Api(client, merchant, container)
            # A subscribed endpoint: each change also owes a delivery (the whole fan-out).
            endpoint = client.post(
                "/v1/webhook-endpoints",
                json={
                    "url": "https://example.test/hook",
                    "enabled_events": ["refunded", "cancelled"],
                },
            )
            assert endpoint.status_code == 201, endpoint.text
            yield api, trace
        assert_no_drift(container, merchant.merchant.id)
    finally:
        container.engine.dispose()
        trace.close()


def _new_order(api: Api) -> dict[str, Any]:
    made = api.client.post("/v1/orders", json=order_body())
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def _keyed(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{name}-{uuid.uuid4().hex}"}


def _partial_refund(api: Api, order: dict[str, Any]) -> Any:
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "chipped"}
    return api.client.post(f"/v1/orders/{order['id']}/refund", json=body, headers=_keyed("rt"))


def _cancel(api: Api, order: dict[str, Any]) -> Any:
    body = {"reason": "customer changed their mind"}
    return api.client.post(f"/v1/orders/{order['id']}/cancel", json=body, headers=_keyed("rt"))


def _measured(api: Api, trace: WireTrace, request: Any) -> list[str]:
    # The same request once before, on another order: the API key is cached, the pool
    # holds a connection, and SQLAlchemy has compiled the statements.
    assert request(api, _new_order(api)).status_code < 300
    order = _new_order(api)
    trace.mark()
    answer = request(api, order)
    assert answer.status_code < 300, answer.text
    assert trace.opened_since_mark() == 0, "the request opened a connection of its own"
    return trace.round_trips()


def test_a_keyed_partial_refund_stays_within_its_round_trips(
    traced: tuple[Api, WireTrace],
) -> None:
    api, trace = traced
    turns = _measured(api, trace, _partial_refund)
    assert len(turns) <= ROUND_TRIP_BUDGET, turns


def test_a_keyed_cancel_stays_within_its_round_trips(traced: tuple[Api, WireTrace]) -> None:
    api, trace = traced
    turns = _measured(api, trace, _cancel)
    assert len(turns) <= ROUND_TRIP_BUDGET, turns
