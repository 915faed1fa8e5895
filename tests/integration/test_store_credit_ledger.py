"""Store credit on a real database: racing checkouts never spend more than the balance
(PostgreSQL, several server processes), and ``refundry verify`` is silent on what the use
cases wrote and names every store credit figure changed behind their back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import ledgers
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from refundry.services.views.verify import verify
from tests.conftest import order_body, settle
from tests.integration.test_concurrent_refunds import race
from tests.servers import api_server

CUSTOMER = {"email": "race@example.com", "external_id": "cust-race"}
ACCOUNT = "/v1/customers/cust-race/store-credit"


@pytest.fixture
def shop(postgres_container: Container) -> NewMerchant:
    return transactions.run(
        postgres_container.uow_factory, lambda uow: create_merchant(uow, "Racer")
    )


@pytest.fixture
def server(postgres_container: Container) -> Iterator[str]:
    with api_server(postgres_container.engine.url.render_as_string(hide_password=False)) as base:
        yield base


@pytest.mark.postgres
def test_racing_checkouts_never_spend_more_store_credit_than_the_balance(
    server: str, shop: NewMerchant, postgres_container: Container
) -> None:
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    # given 100.00 of store credit
    granted = httpx.post(
        f"{server}{ACCOUNT}/adjustments",
        headers=headers,
        json={"currency": "EUR", "amount": 10_000, "note": "goodwill"},
    )
    assert granted.status_code == 201, granted.text
    # when 12 checkouts race to spend 30.00 each (3.6 times the balance)
    bodies = [
        order_body(customer=CUSTOMER, payment={"store_credit": {"amount": 3000}}) for _ in range(12)
    ]
    responses = race(server, shop.api_key, "/v1/orders", bodies)
    # then exactly three fit, every other one is a clean problem, and 10.00 are left
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 3
    for loser in (r for r in responses if r.status_code != 201):
        assert loser.status_code == 422, loser.text
        assert loser.json()["type"].endswith("/store-credit-insufficient")
    shown = httpx.get(f"{server}{ACCOUNT}", headers=headers).json()
    assert shown["balances"][0]["available"] == 1000
    assert shown["balances"][0]["ledger_balance"] == 1000
    assert len(shown["entries"]) == 4
    assert verify(postgres_container.read_models, shop.merchant.id).clean


def _with_store_credit(container: Container) -> tuple[NewMerchant, list[dict[str, Any]]]:
    """A customer granted credit, two orders spending part of it, one refunded to store
    credit and one card refund giving the store credit back first, settled."""
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "V"))
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {merchant.api_key}"
        client.post(
            f"{ACCOUNT}/adjustments", json={"currency": "EUR", "amount": 9000, "note": "grant"}
        )
        orders = [
            client.post(
                "/v1/orders",
                json=order_body(customer=CUSTOMER, payment={"store_credit": {"amount": 3000}}),
            ).json()
            for _ in range(2)
        ]
        client.post(f"/v1/orders/{orders[0]['id']}/refund", json={"method": "store_credit"})
        client.post(f"/v1/orders/{orders[1]['id']}/refund", json={"amount": 5000})
    settle(container)
    return merchant, orders


def own_container(database_url: str, sandbox_psp_url: str) -> Container:
    return bootstrap(Settings(database_url=database_url, sandbox_psp_url=sandbox_psp_url))


def test_verify_names_store_credit_changed_behind_the_ledger(
    own_database_url: str, sandbox_psp_url: str
) -> None:
    container = own_container(own_database_url, sandbox_psp_url)
    try:
        merchant, orders = _with_store_credit(container)
        merchant_id = merchant.merchant.id
        assert verify(container.read_models, merchant_id).clean
        entries = ledgers.store_credit_entries
        with container.engine.begin() as connection:
            # the grant shrinks, so the spends take the balance below zero for a while
            connection.execute(
                entries.update().where(entries.c.kind == "adjusted").values(amount=1000)
            )
            # the card refund's store credit part is lost
            connection.execute(
                entries.delete().where(
                    entries.c.kind == "issued", entries.c.order_id == uuid.UUID(orders[1]["id"])
                )
            )
            # one checkout's spend is halved
            connection.execute(
                entries.update()
                .where(entries.c.kind == "spent", entries.c.order_id == uuid.UUID(orders[0]["id"]))
                .values(amount=-1500)
            )
        found = {drift.check for drift in verify(container.read_models, merchant_id).drifts}
        assert {"store_credit_balance", "store_credit_issued", "store_credit_spent"} <= found
    finally:
        container.engine.dispose()


def test_the_store_credit_ledger_sums_match_the_stored_rows(
    own_database_url: str, sandbox_psp_url: str
) -> None:
    container = own_container(own_database_url, sandbox_psp_url)
    try:
        merchant, _ = _with_store_credit(container)
        with container.engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.sum(ledgers.store_credit_entries.c.amount)).where(
                    ledgers.store_credit_entries.c.merchant_id == merchant.merchant.id
                )
            ).scalar_one()
        # 90.00 granted, 60.00 spent, 130.46 given back to store credit, 30.00 given back first
        assert total == 9000 - 6000 + 13046 + 3000
    finally:
        container.engine.dispose()
