"""Shared fixtures: a fresh database per test session on SQLite and on PostgreSQL.

PostgreSQL runs when ``REFUNDRY_TEST_POSTGRES_URL`` is set (a server URL; a database
with a random name is created and dropped). Without it the PostgreSQL tests skip
with a reason, except under ``CI=true``, where a skip would hide a failure.

Tests are isolated by merchant: every row is merchant-scoped, so each test gets
its own merchant and never sees another test's orders.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import provider_work
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from refundry.services.handlers.provider_work import OutboxPolicy, ProviderWork
from refundry.services.views.verify import verify
from tests.postgres_servers import pgbouncer
from tests.servers import free_port, running_server, venv_script

POSTGRES_ENV = "REFUNDRY_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} must be set in CI: PostgreSQL tests may not skip there")
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL tests skipped")
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "refundry-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@contextmanager
def sandbox_psp_server(
    *, settle_seconds: float = 0.0, events_url: str | None = None
) -> Iterator[str]:
    """The sandbox card gateway as a real process on a free loopback port; with
    ``events_url`` it posts a signed event there as each refund settles."""
    port = free_port()
    command = [venv_script("refundry"), "sandbox-psp", "--port", str(port)]
    if events_url is not None:
        command += ["--events-url", events_url]
    with running_server(command, port=port) as base:
        httpx.post(f"{base}/_sandbox/faults", json={"settle_seconds": settle_seconds})
        yield base


@pytest.fixture(scope="session")
def sandbox_psp_url() -> Iterator[str]:
    """One sandbox gateway for the session; refunds there settle as soon as they are read.
    Tests that switch faults on start their own with ``sandbox_psp_server``."""
    with sandbox_psp_server() as base:
        yield base


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own, dropped afterwards."""
    server = postgres_server_url()
    name = f"refundry_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for this test alone, for tests whose worker processes drain the whole
    outbox and so must not see other tests' messages."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


def settings_for_tests(database_url: str, sandbox_psp_url: str, **more: Any) -> Settings:
    return Settings(
        database_url=database_url,
        sandbox_psp_url=sandbox_psp_url,
        webhook_allow_private_networks=True,  # receivers in tests are on loopback
        dashboard_secure_cookies=False,  # TestClient speaks plain HTTP
        # One key and one client address make every request of the session; the
        # limits have their own tests (tests/e2e/test_abuse_limits.py).
        rate_limit_per_second=0,
        sign_in_attempts_per_minute=0,
        **more,
    )


@pytest.fixture(scope="session")
def sqlite_container(sqlite_url: str, sandbox_psp_url: str) -> Iterator[Container]:
    container = bootstrap(settings_for_tests(sqlite_url, sandbox_psp_url))
    yield container
    container.dispose()


@pytest.fixture(scope="session")
def postgres_container(postgres_url: str, sandbox_psp_url: str) -> Iterator[Container]:
    container = bootstrap(settings_for_tests(postgres_url, sandbox_psp_url))
    yield container
    container.dispose()


@pytest.fixture(scope="session")
def pgbouncer_container(postgres_url: str, sandbox_psp_url: str) -> Iterator[Container]:
    """The session's PostgreSQL database through PgBouncer in transaction mode (issue 23).
    Tests choose it with ``@pytest.mark.parametrize("container", WITH_PGBOUNCER,
    indirect=True)``: the races and the outbox, what transaction pooling would break."""
    with pgbouncer(postgres_url) as pooled_url:
        container = bootstrap(
            settings_for_tests(pooled_url, sandbox_psp_url, database_pooler="transaction")
        )
        yield container
        container.dispose()


def settle(container: Container, *, max_rounds: int = 50) -> int:
    """Do the worker's provider work now, with no waits between polls: every refund
    the provider settles is recorded. Returns how many messages were handled.

    One call at a time, in the order the refunds were made: tests script the gateway's
    answers by arrival (``reject_refunds``: the next N are declined). Calls side by side
    are tests/e2e/test_provider_batches.py's subject."""
    work = ProviderWork(
        container.uow_factory,
        container.provider_work.providers,
        OutboxPolicy(
            concurrency=1,
            retry_base=timedelta(0),
            retry_ceiling=timedelta(0),
            poll_base=timedelta(0),
            poll_ceiling=timedelta(0),
        ),
        container.provider_work.calls,
    )
    handled = 0
    for _ in range(max_rounds):
        count = provider_work.process_outbox(work)
        if count == 0:
            return handled
        handled += count
    return handled


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# The same, and the PostgreSQL database through PgBouncer (``pgbouncer_container``).
WITH_PGBOUNCER = [*DATABASES, pytest.param("pgbouncer", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def container(request: pytest.FixtureRequest) -> Container:
    """The system on each database; tests using it run twice."""
    fixture: Container = request.getfixturevalue(f"{request.param}_container")
    return fixture


@pytest.fixture
def merchant(container: Container) -> NewMerchant:
    return transactions.run(
        container.uow_factory, lambda uow: create_merchant(uow, f"Shop {uuid.uuid4().hex[:6]}")
    )


@dataclass
class Api:
    """An API client authenticated as one merchant."""

    client: TestClient
    merchant: NewMerchant
    container: Container

    def settle(self) -> None:
        """Let the worker send and settle every pending provider refund."""
        settle(self.container)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.merchant.api_key}"}


@pytest.fixture
def api(container: Container, merchant: NewMerchant) -> Iterator[Api]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        client.headers.update({"Authorization": f"Bearer {merchant.api_key}"})
        yield Api(client, merchant, container)
    assert_no_drift(container, merchant.merchant.id)


def assert_no_drift(container: Container, merchant_id: uuid.UUID | None = None) -> None:
    """``refundry verify``'s checks, run after every API test on what it left behind."""
    outcome = verify(container.read_models, merchant_id)
    assert outcome.clean, "\n".join(
        f"{d.check}: {d.subject}: expected {d.expected}, found {d.found}" for d in outcome.drifts
    )


def order_body(**overrides: object) -> dict[str, object]:
    """A typical three-line EUR order: 2 mugs with a discount, a teapot, shipping."""
    body: dict[str, object] = {
        "external_id": f"ext-{uuid.uuid4().hex[:10]}",
        "currency": "EUR",
        "customer": {"email": "ana@example.com"},
        "lines": [
            {
                "sku": "MUG",
                "name": "Mug",
                "quantity": 2,
                "unit_price": 1290,
                "discount": 258,
                "tax": 464,
            },
            {"sku": "POT", "name": "Teapot", "quantity": 1, "unit_price": 5490, "tax": 1098},
            {
                "sku": "TEA",
                "name": "Tea",
                "quantity": 3,
                "unit_price": 890,
                "discount": 100,
                "tax": 514,
            },
        ],
        "shipping": {"amount": 490, "tax": 98},
    }
    body.update(overrides)
    return body
