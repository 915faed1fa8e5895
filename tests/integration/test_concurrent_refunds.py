"""Refunds racing on one order through a real server never exceed the capture.

The server runs as a user would run it (uvicorn, several worker processes on
PostgreSQL); the requests come from threads in this process over loopback. The unit race
runs through PgBouncer in transaction mode too (issue 23): 20 racers over 4 server
connections, each transaction on whichever is free, the order row locked by each.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx
import pytest

from refundry.bootstrap import Container
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import WITH_PGBOUNCER
from tests.servers import api_server

RACERS = 24


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    url = container.engine.url.render_as_string(hide_password=False)
    with api_server(url, {"REFUNDRY_DATABASE_POOLER": container.settings.database_pooler}) as base:
        yield base


@pytest.fixture
def shop(container: Container) -> NewMerchant:
    return transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Racer"))


def race(
    base: str, api_key: str, path: str, bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    barrier = Barrier(len(bodies))
    headers = {"Authorization": f"Bearer {api_key}"}

    def fire(body: dict[str, object]) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            barrier.wait(timeout=30)
            return client.post(path, json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(fire, bodies))


def ingest(base: str, api_key: str, lines: list[dict[str, object]]) -> dict[str, object]:
    response = httpx.post(
        f"{base}/v1/orders",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"currency": "EUR", "customer": {"email": "race@example.com"}, "lines": lines},
    )
    assert response.status_code == 201, response.text
    order: dict[str, object] = response.json()
    return order


def test_racing_goodwill_refunds_never_exceed_the_capture(server: str, shop: NewMerchant) -> None:
    # given an order of 100.00 EUR, captured
    order = ingest(
        server, shop.api_key, [{"sku": "X", "name": "X", "quantity": 1, "unit_price": 10000}]
    )
    # when 24 refunds of 7.00 race for it (16.80 EUR more than was captured)
    responses = race(
        server, shop.api_key, f"/v1/orders/{order['id']}/refund", [{"amount": 700}] * RACERS
    )
    # then exactly 14 fit under the cap, and every loser got a clean problem
    winners = [r for r in responses if r.status_code == 201]
    losers = [r for r in responses if r.status_code != 201]
    assert len(winners) == 10000 // 700
    for loser in losers:
        assert loser.status_code == 409
        assert loser.headers["content-type"] == "application/problem+json"
        assert loser.json()["type"].endswith("/refund-exceeds-refundable")
    final = httpx.get(
        f"{server}/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {shop.api_key}"}
    ).json()
    assert final["refunded"] == 700 * len(winners) <= final["captured"]
    assert final["order_status"] == "partially_refunded"


@pytest.mark.parametrize("container", WITH_PGBOUNCER, indirect=True)
def test_racing_unit_refunds_refund_each_unit_once(server: str, shop: NewMerchant) -> None:
    # given 10 units with a discount and tax that do not divide evenly
    order = ingest(
        server,
        shop.api_key,
        [{"sku": "Y", "name": "Y", "quantity": 10, "unit_price": 999, "discount": 7, "tax": 1897}],
    )
    line_id = order["lines"][0]["id"]  # type: ignore[index]
    # when 20 one-unit refunds race
    responses = race(
        server,
        shop.api_key,
        f"/v1/orders/{order['id']}/refund",
        [{"lines": [{"line_id": line_id, "quantity": 1}]}] * 20,
    )
    # then exactly 10 succeed and together they refund the line to the last cent
    winners = [r.json() for r in responses if r.status_code == 201]
    assert len(winners) == 10
    loser_types = {r.json()["type"].rsplit("/", 1)[-1] for r in responses if r.status_code != 201}
    assert all(r.status_code in (201, 409) for r in responses)
    assert loser_types <= {"refund-quantity-exceeded", "refund-exceeds-refundable"}
    assert sum(w["amount"] for w in winners) == order["total"] == 999 * 10 - 7 + 1897
    assert winners[-1]["order"]["order_status"] in ("partially_refunded", "fully_refunded")
    final = httpx.get(
        f"{server}/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {shop.api_key}"}
    ).json()
    assert final["order_status"] == "fully_refunded"
    assert final["refundable"] == 0


def test_racing_receipts_of_one_return_restock_each_unit_once(
    server: str, shop: NewMerchant
) -> None:
    # given 5 shipped units of one SKU and an open return of all 5
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    line = {"sku": "RETURNED", "name": "R", "quantity": 5, "unit_price": 1000}
    order = ingest(server, shop.api_key, [line])
    with httpx.Client(base_url=server, headers=headers) as client:
        assert client.post(f"/v1/orders/{order['id']}/fulfil").is_success
        line_id = client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["id"]
        made = client.post(
            f"/v1/orders/{order['id']}/returns",
            json={"lines": [{"line_id": line_id, "quantity": 5}]},
        ).json()
        before = client.get("/v1/stock/RETURNED").json()["on_hand"]
    # when 24 receipts of 1 resellable unit race (19 more than the return lists)
    responses = race(
        server,
        shop.api_key,
        f"/v1/returns/{made['id']}/receive",
        [{"lines": [{"line_id": line_id, "resellable": 1}]}] * RACERS,
    )
    # then exactly 5 are received and restocked; the rest are refused cleanly
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 5
    for loser in (r for r in responses if r.status_code != 200):
        assert loser.status_code == 409, loser.text
        assert loser.json()["type"].rsplit("/", 1)[-1] in (
            "receipt-exceeds-return",
            "return-not-open",
        )
    with httpx.Client(base_url=server, headers=headers) as client:
        assert client.get("/v1/stock/RETURNED").json()["on_hand"] == before + 5
        shown = client.get(f"/v1/returns/{made['id']}").json()
    assert (shown["status"], shown["units_received"]) == ("received", 5)
