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
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.merchants import NewMerchant, create_merchant

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
    server = postgres_server_url()
    name = f"refundry_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_container(sqlite_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=sqlite_url))
    yield container
    container.engine.dispose()


@pytest.fixture(scope="session")
def postgres_container(postgres_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=postgres_url))
    yield container
    container.engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
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

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.merchant.api_key}"}


@pytest.fixture
def api(container: Container, merchant: NewMerchant) -> Iterator[Api]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        client.headers.update({"Authorization": f"Bearer {merchant.api_key}"})
        yield Api(client, merchant)


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
