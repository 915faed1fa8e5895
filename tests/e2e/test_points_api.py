"""Loyalty points through the API: earned at capture, taken back by refunds in proportion,
given back when a refund fails; every balance is the sum of the customer's ledger."""

from __future__ import annotations

from typing import Any

import httpx

from refundry.bootstrap import Container
from tests.conftest import Api, order_body
from tests.e2e.test_provider_refunds import own_api, own_psp  # noqa: F401 -- fixtures

CUSTOMER = "cust-ana"


def with_program(api: Api, **program: Any) -> None:
    answer = api.client.put("/v1/points-program", json={"points_per_unit": 1, **program})
    assert answer.status_code == 200, answer.text


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    customer = {"email": "ana@example.com", "external_id": CUSTOMER}
    made = api.client.post("/v1/orders", json=order_body(customer=customer, **overrides))
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def ledger(api: Api) -> dict[str, Any]:
    answer = api.client.get(f"/v1/customers/{CUSTOMER}/points")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_captured_order_earns_points_by_the_program(api: Api) -> None:
    # given 1 point per euro, rounded down
    with_program(api)
    # when a captured order of EUR 130.46 arrives
    order = ingest(api)
    # then it earned 130 points, all of them reversible, and the customer's ledger says so
    assert order["total"] == 13046
    assert (order["points_earned"], order["points_reversible"]) == (130, 130)
    shown = ledger(api)
    assert shown["balance"] == 130
    assert [(entry["kind"], entry["points"]) for entry in shown["entries"]] == [("earned", 130)]
    assert shown["entries"][0]["order_id"] == order["id"]


def test_partial_refunds_take_back_points_in_proportion_and_a_full_one_takes_the_rest(
    api: Api,
) -> None:
    with_program(api)
    order = ingest(api)
    mug = order["lines"][0]
    # when one mug (EUR 13.93 of 130.46) is refunded
    first = api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}]},
    ).json()
    # then 14 of the 130 points go back (13.88, rounded by the largest-remainder allocator)
    assert first["amount"] == 1393
    assert first["points_reversed"] == 14
    assert first["order"]["points_reversible"] == 116
    # when the rest is refunded
    rest = api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    # then exactly the remaining 116 go back: nothing earned survives a full refund
    assert rest["points_reversed"] == 116
    assert rest["order"]["points_reversible"] == 0
    shown = ledger(api)
    assert shown["balance"] == 0
    assert sorted((entry["kind"], entry["points"]) for entry in shown["entries"]) == [
        ("earned", 130),
        ("reversed", -116),
        ("reversed", -14),
    ]
    # and the refund's webhook event carries the points it took back
    events = api.client.get("/v1/events", params={"order_id": order["id"]}).json()["data"]
    assert {event["payload"]["data"]["points_reversed"] for event in events} == {14, 116}


def test_without_a_program_orders_earn_nothing(api: Api) -> None:
    order = ingest(api)
    assert order["points_earned"] == 0
    refunded = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 500}).json()
    assert refunded["points_reversed"] == 0
    assert ledger(api)["balance"] == 0
    missing = api.client.get("/v1/points-program")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/points-program-not-found")


def test_a_held_order_earns_when_it_is_captured(api: Api) -> None:
    with_program(api, points_per_unit=2)
    order = ingest(api, payment={"method": "card", "capture": "manual"})
    assert order["points_earned"] == 0
    captured = api.client.post(f"/v1/orders/{order['id']}/capture", json={})
    assert captured.status_code == 200, captured.text
    assert captured.json()["points_earned"] == 260  # 2 x 130.46, rounded down
    assert ledger(api)["balance"] == 260


def test_a_refund_that_fails_gives_its_points_back(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    # given an earning order and an issuer that will refuse the next refund
    base, _ = own_psp
    with_program(own_api)
    order = ingest(own_api)
    own_api.settle()  # refunds other tests left in this database go first, unrefused
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    made = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert made["points_reversed"] == 130
    # when the provider refuses it
    own_api.settle()
    # then the money stayed with the merchant, and so do the points with the customer
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["points_reversible"] == 130
    assert own_api.client.get(f"/v1/refunds/{made['id']}").json()["points_reversed"] == 0
    shown = ledger(own_api)
    assert shown["balance"] == 130
    assert sorted(entry["kind"] for entry in shown["entries"]) == ["adjusted", "earned", "reversed"]


def test_a_bad_program_is_refused(api: Api) -> None:
    for body in ({"points_per_unit": -1}, {"points_per_unit": 1.5}, {"points_per_unit": 1,
                 "rounding": "sideways"}):  # fmt: skip
        refused = api.client.put("/v1/points-program", json=body)
        assert refused.status_code == 422, refused.text


def test_a_failed_refund_gives_back_what_rounding_charged_to_others_and_no_more(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    # given a EUR 10.00 order earning 10 points, refunded 0.01 (0 points) then 0.49 (1 point)
    base, _ = own_psp
    with_program(own_api)
    line = {"sku": "TEN", "name": "Ten", "quantity": 1, "unit_price": 1000}
    order = ingest(own_api, lines=[line], shipping=None)
    own_api.settle()  # refunds other tests left in this database go first, unrefused
    tiny = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1}).json()
    small = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 49}).json()
    assert (tiny["points_reversed"], small["points_reversed"]) == (0, 1)
    # when the first one is refused (the second goes through)
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    own_api.settle()
    assert own_api.client.get(f"/v1/refunds/{tiny['id']}").json()["status"] == "failed"
    # then the order keeps 0.49 of 10.00 refunded: 0 points reversed, and so does the ledger
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["points_reversible"] == 10
    assert ledger(own_api)["balance"] == 10
    # and a refund of the rest takes exactly the 10 back: never more than was earned
    rest = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert rest["points_reversed"] == 10
    assert ledger(own_api)["balance"] == 0
