"""Returns racing through a real server (SQLite, and PostgreSQL with several worker
processes): the order's lock keeps units returned, refunded and cancelled within units sold,
restocks a receipt once and exchanges a return once, however the requests interleave."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx

from refundry.services.handlers.merchants import NewMerchant
from tests.integration.test_concurrent_refunds import ingest, server, shop

__all__ = ["server", "shop"]  # the fixtures, used by name

RACERS = 12


def race_calls(base: str, api_key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """POST each (path, body) from its own thread, all released at once."""
    barrier = Barrier(len(calls))
    headers = {"Authorization": f"Bearer {api_key}"}

    def fire(call: tuple[str, dict[str, Any]]) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            barrier.wait(timeout=30)
            return client.post(call[0], json=call[1])

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def shipped_units(base: str, shop: NewMerchant, sku: str, units: int) -> tuple[str, str]:
    line = {"sku": sku, "name": sku, "quantity": units, "unit_price": 1000, "tax": 200}
    order = ingest(base, shop.api_key, [line])
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    fulfilled = httpx.post(f"{base}/v1/orders/{order['id']}/fulfil", headers=headers)
    assert fulfilled.is_success, fulfilled.text
    return str(order["id"]), str(fulfilled.json()["lines"][0]["id"])


def test_racing_returns_and_refunds_of_the_same_units_take_each_unit_once(
    server: str, shop: NewMerchant
) -> None:
    # given 5 shipped units
    order_id, line_id = shipped_units(server, shop, "CONTESTED", 5)
    units = {"lines": [{"line_id": line_id, "quantity": 2}]}
    # when returns of 2 and refunds of 2 of them race, 6 of each
    calls = [(f"/v1/orders/{order_id}/returns", units), (f"/v1/orders/{order_id}/refund", units)]
    responses = race_calls(server, shop.api_key, calls * (RACERS // 2))
    # then at most 2 win (4 units; a fifth is left), the rest are clean 409 problems
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 2
    for loser in (r for r in responses if r.status_code != 201):
        assert loser.status_code == 409, loser.text
        assert loser.headers["content-type"] == "application/problem+json"
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    with httpx.Client(base_url=server, headers=headers) as client:
        line = client.get(f"/v1/orders/{order_id}").json()["lines"][0]
        returned = client.get(f"/v1/orders/{order_id}/returns").json()["data"]
    in_returns = sum(r["units"] for r in returned)
    assert line["refunded_quantity"] + in_returns == 4


def test_racing_full_receipts_of_one_return_restock_it_once(server: str, shop: NewMerchant) -> None:
    # given an open return of 5 shipped units
    order_id, line_id = shipped_units(server, shop, "WHOLE", 5)
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    with httpx.Client(base_url=server, headers=headers) as client:
        made = client.post(
            f"/v1/orders/{order_id}/returns", json={"lines": [{"line_id": line_id, "quantity": 5}]}
        ).json()
        before = client.get("/v1/stock/WHOLE").json()["on_hand"]
    # when the same receipt of all 5 is sent 12 times at once (a double-clicked form)
    receipt = {"lines": [{"line_id": line_id, "resellable": 4, "damaged": 1}]}
    responses = race_calls(
        server, shop.api_key, [(f"/v1/returns/{made['id']}/receive", receipt)] * RACERS
    )
    # then one receives and restocks the 4 resellable units; the others are refused
    assert [r.status_code for r in responses].count(200) == 1
    assert all(r.status_code in (200, 409) for r in responses)
    with httpx.Client(base_url=server, headers=headers) as client:
        assert client.get("/v1/stock/WHOLE").json()["on_hand"] == before + 4
        shown = client.get(f"/v1/returns/{made['id']}").json()
    assert (shown["status"], shown["units_received"]) == ("received", 5)


def test_racing_exchanges_of_one_return_place_one_replacement(
    server: str, shop: NewMerchant
) -> None:
    # given a received return of 2 units (22.00 with their tax)
    order_id, line_id = shipped_units(server, shop, "SWAPPED", 2)
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    with httpx.Client(base_url=server, headers=headers) as client:
        made = client.post(
            f"/v1/orders/{order_id}/returns", json={"lines": [{"line_id": line_id, "quantity": 2}]}
        ).json()
        client.post(
            f"/v1/returns/{made['id']}/receive",
            json={"lines": [{"line_id": line_id, "resellable": 2}]},
        )
    # when 12 exchanges of it for a 10.00 cup race
    cup = {"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 1000}
    responses = race_calls(
        server, shop.api_key, [(f"/v1/returns/{made['id']}/exchange", {"lines": [cup]})] * RACERS
    )
    # then one replacement is placed, its store credit issued and spent once
    assert [r.status_code for r in responses].count(201) == 1
    assert all(r.status_code in (201, 409) for r in responses)
    with httpx.Client(base_url=server, headers=headers) as client:
        orders = client.get("/v1/orders", params={"query": "race@example.com"}).json()["data"]
        credit = client.get("/v1/customers/race@example.com/store-credit").json()
        refunds = client.get(f"/v1/orders/{order_id}/refunds").json()["data"]
    assert len(orders) == 2
    assert sorted((e["kind"], e["amount"]) for e in credit["entries"]) == [
        ("issued", 1000), ("spent", -1000),
    ]  # fmt: skip
    assert sorted(r["amount"] for r in refunds) == [1000, 1200]  # carried, and the rest back
