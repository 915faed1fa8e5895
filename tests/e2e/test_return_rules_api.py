"""Return rules through the API that issue 19 states and test_returns_api.py leaves out:
fees per line, a closed or partly received return's refusals writing nothing, every POST
replayed by its Idempotency-Key, another merchant's ids, filtered keyset pages, and store
credit kept per currency."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import Api
from tests.e2e.test_orders_refunds_api import stock
from tests.e2e.test_reports_api import RANGE
from tests.e2e.test_returns_api import create_return, problem_type, shipped

PROBLEM = "application/problem+json"
CUP = {"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 500}


def received(api: Api, order: dict[str, Any], line: dict[str, Any], units: int) -> str:
    made = create_return(api, order, lines=[{"line_id": line["id"], "quantity": units}])
    answer = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": line["id"], "resellable": units}]},
    )
    assert answer.status_code == 200, answer.text
    return str(made["id"])


def world(api: Api, order: dict[str, Any], return_id: str) -> dict[str, Any]:
    """Everything a refused return action could have written."""
    return {
        "return": api.client.get(f"/v1/returns/{return_id}").json(),
        "order": api.client.get(f"/v1/orders/{order['id']}").json(),
        "refunds": api.client.get(f"/v1/orders/{order['id']}/refunds").json(),
        "stock": [stock(api, sku) for sku in ("MUG", "POT", "TEA", "CUP")],
        "orders": api.client.get("/v1/orders").json(),
        "credit": api.client.get("/v1/customers/ana@example.com/store-credit").json(),
    }


def test_a_restocking_fee_per_line_and_a_return_shipping_fee_are_kept_and_reported(
    api: Api,
) -> None:
    # given a return of 2 teas at 25% (their own fee) and 1 mug at the return's 10%,
    # with 1.50 kept for return shipping
    order = shipped(api)
    mug, tea = order["lines"][0], order["lines"][2]
    made = create_return(
        api,
        order,
        lines=[
            {"line_id": tea["id"], "quantity": 2, "restocking_fee_percent": 25},
            {"line_id": mug["id"], "quantity": 1},
        ],
        restocking_fee_percent=10,
        return_shipping_fee=150,
    )
    assert [line["restocking_fee_percent"] for line in made["lines"]] == [25, 10]
    api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={
            "lines": [
                {"line_id": tea["id"], "resellable": 2},
                {"line_id": mug["id"], "damaged": 1},
            ]
        },
    )
    # when its refund is reviewed: teas 2056 (25%: 514), mug 1393 (10%: 139), shipping 150
    preview = api.client.post(
        f"/v1/returns/{made['id']}/refund/preview", json={"destination": "other"}
    ).json()
    assert (preview["fees"], preview["amount"]) == (514 + 139 + 150, 2056 + 1393 - 803)
    # then the refund by other means keeps them, recorded as not requested from a provider
    done = api.client.post(
        f"/v1/returns/{made['id']}/refund",
        json={"destination": "other", "quote": preview["quote"]},
    )
    assert done.status_code == 201, done.text
    refund = done.json()["refund"]
    assert (refund["status"], refund["method"], refund["fees"]) == ("not_requested", "other", 803)
    assert done.json()["return"]["fees_kept"] == 803
    totals = api.client.get(f"/v1/reports/summary?{RANGE}").json()["totals"][0]
    assert (totals["returns"], totals["units_returned"], totals["fees_kept"]) == (1, 3, 803)


def test_a_closed_return_refuses_every_action_with_a_problem_and_writes_nothing(
    api: Api,
) -> None:
    # given a return of the teapot, received and refunded to store credit: closed
    order = shipped(api)
    pot = order["lines"][1]
    return_id = received(api, order, pot, 1)
    closed = api.client.post(
        f"/v1/returns/{return_id}/refund", json={"destination": "store_credit"}
    )
    assert closed.json()["return"]["status"] == "closed"
    before = world(api, order, return_id)
    # when anything is asked of it again
    path = f"/v1/returns/{return_id}"
    asks = [
        ("approve", None),
        ("decline", {"reason": "late"}),
        ("cancel", None),
        ("receive", {"lines": [{"line_id": pot["id"], "resellable": 1}]}),
        ("refund/preview", None),
        ("refund", {"destination": "original"}),
        ("refund", {"destination": "store_credit"}),
        ("exchange", {"lines": [CUP]}),
    ]
    for action, body in asks:
        refused = api.client.post(f"{path}/{action}", json=body)
        # then each is a clear 409 problem
        assert refused.status_code == 409, (action, refused.text)
        assert refused.headers["content-type"] == PROBLEM, action
        assert problem_type(refused) in ("return-not-open", "illegal-transition"), action
        assert refused.json()["detail"], action
    # and nothing was written: no refund, no order, no stock or store credit moved
    assert world(api, order, return_id) == before


def test_a_partly_received_return_cannot_be_cancelled(api: Api) -> None:
    order = shipped(api)
    tea = order["lines"][2]
    made = create_return(api, order, lines=[{"line_id": tea["id"], "quantity": 2}])
    path = f"/v1/returns/{made['id']}"
    api.client.post(f"{path}/receive", json={"lines": [{"line_id": tea["id"], "resellable": 1}]})
    before = world(api, order, made["id"])
    refused = api.client.post(f"{path}/cancel", json={"reason": "changed my mind"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert problem_type(refused) == "return-not-open"
    assert "refund it for what arrived" in refused.json()["detail"]
    assert world(api, order, made["id"]) == before


def test_every_return_post_sent_twice_with_its_key_acts_once(api: Api) -> None:
    order = shipped(api)
    tea = order["lines"][2]

    def twice(path: str, body: dict[str, Any] | None, key: str) -> dict[str, Any]:
        first = api.client.post(path, json=body, headers={"Idempotency-Key": key})
        again = api.client.post(path, json=body, headers={"Idempotency-Key": key})
        assert first.status_code in (200, 201), first.text
        assert (again.status_code, again.json()) == (first.status_code, first.json()), path
        replayed: dict[str, Any] = first.json()
        return replayed

    made = twice(
        f"/v1/orders/{order['id']}/returns",
        {"lines": [{"line_id": tea["id"], "quantity": 2}], "requested": True},
        "create",
    )
    path = f"/v1/returns/{made['id']}"
    twice(f"{path}/approve", None, "approve")
    shelf = stock(api, "TEA")
    twice(f"{path}/receive", {"lines": [{"line_id": tea["id"], "resellable": 1}]}, "receive")
    assert stock(api, "TEA") == shelf + 1  # restocked once
    twice(f"{path}/receive", {"lines": [{"line_id": tea["id"], "damaged": 1}]}, "receive-2")
    exchanged = twice(f"{path}/exchange", {"lines": [CUP]}, "exchange")
    # one return, one received unit on the shelf, one replacement, one refund each way
    assert len(api.client.get(f"/v1/orders/{order['id']}/returns").json()["data"]) == 1
    assert stock(api, "TEA") == shelf + 1
    assert len(api.client.get("/v1/orders").json()["data"]) == 2
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert {refund["id"] for refund in refunds} == {
        exchanged["carried"]["id"],
        exchanged["difference_refunded"]["id"],
    }
    # a second return refunded twice with one key: one refund
    other = received(api, order, order["lines"][0], 1)
    refunded = twice(f"/v1/returns/{other}/refund", {"destination": "other"}, "refund")
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [r["id"] for r in refunds].count(refunded["refund"]["id"]) == 1
    assert len(refunds) == 3
    declined = create_return(api, order, lines=[{"line_id": order["lines"][1]["id"],
                                                 "quantity": 1}], requested=True)  # fmt: skip
    twice(f"/v1/returns/{declined['id']}/decline", {"reason": "worn"}, "decline")
    withdrawn = create_return(api, order, lines=[{"line_id": order["lines"][1]["id"],
                                                  "quantity": 1}])  # fmt: skip
    twice(f"/v1/returns/{withdrawn['id']}/cancel", None, "cancel")


def test_another_merchants_return_ids_are_404_on_every_returns_route(api: Api) -> None:
    # given a received return of the first merchant's
    order = shipped(api)
    mug = order["lines"][0]
    return_id = received(api, order, mug, 1)
    before = world(api, order, return_id)
    other = transactions.run(api.container.uow_factory, lambda uow: create_merchant(uow, "B"))
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/v1/returns/{return_id}", None),
        ("GET", f"/v1/orders/{order['id']}/returns", None),
        ("POST", f"/v1/orders/{order['id']}/returns",
         {"lines": [{"line_id": mug["id"], "quantity": 1}]}),
        ("POST", f"/v1/returns/{return_id}/approve", None),
        ("POST", f"/v1/returns/{return_id}/decline", {"reason": "no"}),
        ("POST", f"/v1/returns/{return_id}/cancel", None),
        ("POST", f"/v1/returns/{return_id}/receive",
         {"lines": [{"line_id": mug["id"], "resellable": 1}]}),
        ("POST", f"/v1/returns/{return_id}/refund/preview", {"destination": "store_credit"}),
        ("POST", f"/v1/returns/{return_id}/refund", {"destination": "store_credit"}),
        ("POST", f"/v1/returns/{return_id}/exchange", {"lines": [CUP]}),
    ]  # fmt: skip
    with TestClient(create_app(api.container), raise_server_exceptions=False) as stranger:
        stranger.headers["Authorization"] = f"Bearer {other.api_key}"
        # when the other merchant's key names them, with bodies that are well formed
        for method, path, body in calls:
            answer = stranger.request(method, path, json=body)
            # then each is a 404 problem that gives nothing away
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.headers["content-type"] == PROBLEM, path
            assert "ana@example.com" not in answer.text, path
        for query in (return_id, order["id"], "ana@example.com"):
            listed = stranger.get("/v1/returns", params={"query": query}).json()["data"]
            assert listed == [], query
    # and nothing of the first merchant's changed
    assert world(api, order, return_id) == before


def test_a_status_filter_pages_on_with_its_cursor(api: Api) -> None:
    order = shipped(api)
    mug, pot, tea = order["lines"]
    requested = [
        create_return(api, order, lines=[{"line_id": line["id"], "quantity": 1}], requested=True)
        for line in (mug, pot, tea)
    ]
    create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 1}])  # open: not listed
    seen: list[str] = []
    cursor = None
    while True:
        params = {"status": "requested", "query": "ana@example.com", "limit": 2}
        page = api.client.get("/v1/returns", params=params | ({"cursor": cursor} if cursor else {}))
        body = page.json()
        seen += [item["id"] for item in body["data"]]
        assert all(item["status"] == "requested" for item in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [made["id"] for made in reversed(requested)]  # newest first, each once


def test_store_credit_is_kept_per_currency(api: Api) -> None:
    customer = "/v1/customers/ana@example.com/store-credit"
    for currency, amount in (("EUR", 1000), ("SEK", 5000)):
        granted = api.client.post(
            f"{customer}/adjustments", json={"currency": currency, "amount": amount, "note": "x"}
        )
        assert granted.status_code == 201, granted.text
    spent = api.client.post(
        "/v1/orders",
        json={
            "currency": "EUR",
            "customer": {"email": "ana@example.com"},
            "lines": [{"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 800}],
            "payment": {"store_credit": {"amount": 800}},
        },
    )
    assert spent.status_code == 201, spent.text
    too_much = api.client.post(
        "/v1/orders",
        json={
            "currency": "EUR",
            "customer": {"email": "ana@example.com"},
            "lines": [{"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 800}],
            "payment": {"store_credit": {"amount": 201}},  # SEK credit does not pay EUR
        },
    )
    assert (too_much.status_code, problem_type(too_much)) == (422, "store-credit-insufficient")
    balances = api.client.get(customer).json()["balances"]
    assert sorted((b["currency"], b["available"]) for b in balances) == [
        ("EUR", 200), ("SEK", 5000),
    ]  # fmt: skip


def test_a_return_of_an_order_paid_partly_with_store_credit_gives_it_back_first(
    api: Api,
) -> None:
    # given a shipped order of which 20.00 was paid with store credit, the rest by card
    customer = "/v1/customers/ana@example.com/store-credit"
    api.client.post(
        f"{customer}/adjustments", json={"currency": "EUR", "amount": 2000, "note": "x"}
    )
    order = shipped(api, payment={"store_credit": {"amount": 2000}})
    mug, pot = order["lines"][0], order["lines"][1]
    # when a mug (13.93) comes back and is refunded the way the customer paid
    first = api.client.post(
        f"/v1/returns/{received(api, order, mug, 1)}/refund", json={"destination": "original"}
    ).json()["refund"]
    # then it is all store credit, credited at once; nothing goes to the card
    assert (first["store_credit_value"], first["money_amount"]) == (1393, 0)
    assert first["status"] == "completed"
    # and the teapot after it gives back the 6.07 of store credit left, the rest to the card
    second = api.client.post(
        f"/v1/returns/{received(api, order, pot, 1)}/refund", json={"destination": "original"}
    ).json()["refund"]
    assert (second["store_credit_value"], second["money_amount"]) == (607, 6588 - 607)
    api.settle()
    assert api.client.get(customer).json()["balances"][0]["available"] == 2000
