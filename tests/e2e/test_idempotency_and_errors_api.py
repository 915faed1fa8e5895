"""Idempotency keys and problem responses: retries never double, bad input never 500s."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import Api, order_body

PROBLEM = "application/problem+json"


def ingest(api: Api) -> dict[str, Any]:
    response = api.client.post("/v1/orders", json=order_body())
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def another_merchant(container: Container) -> NewMerchant:
    return transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))


def test_a_retried_refund_replays_the_first_response_and_refunds_once(api: Api) -> None:
    # given an order and a keyed partial refund
    order = ingest(api)
    body = {"lines": [{"line_id": order["lines"][1]["id"], "quantity": 1}], "reason": "dented"}
    headers = {"Idempotency-Key": "refund-42"}
    first = api.client.post(f"/v1/orders/{order['id']}/refund", json=body, headers=headers)
    # when the client retries it, as after a timeout
    second = api.client.post(f"/v1/orders/{order['id']}/refund", json=body, headers=headers)
    # then it gets the very same response, and one refund exists
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [refund["id"] for refund in refunds] == [first.json()["id"]]


def test_the_same_key_with_another_body_or_endpoint_is_refused(api: Api) -> None:
    order = ingest(api)
    headers = {"Idempotency-Key": "k-1"}
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100}, headers=headers)
    other_body = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 200}, headers=headers
    )
    other_endpoint = api.client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
    for response in (other_body, other_endpoint):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/idempotency-key-reused")
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 100


def test_keys_belong_to_one_merchant(api: Api, container: Container) -> None:
    other = another_merchant(container)
    api.client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": "shared"})
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {other.api_key}"
        response = client.post(
            "/v1/orders", json=order_body(external_id="x"), headers={"Idempotency-Key": "shared"}
        )
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers


def test_a_refused_request_leaves_its_key_free(api: Api) -> None:
    # given a keyed refund that is refused (more than was captured)
    order = ingest(api)
    headers = {"Idempotency-Key": "too-much"}
    refused = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 10**9}, headers=headers
    )
    assert refused.status_code == 409
    # then nothing was stored under the key: the same request is refused again, freshly
    again = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 10**9}, headers=headers
    )
    assert again.status_code == 409
    assert "Idempotent-Replayed" not in again.headers


def test_concurrent_duplicates_make_one_refund(api: Api, container: Container) -> None:
    # given eight clients sending the same keyed refund at the same moment
    order = ingest(api)
    barrier = Barrier(8)
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]}
    app = create_app(container)  # one app, as one server process; a client per thread

    def send(_: int) -> tuple[int, str]:
        with TestClient(app) as client:
            client.headers.update(api.headers)
            barrier.wait(timeout=30)
            response = client.post(
                f"/v1/orders/{order['id']}/refund", json=body, headers={"Idempotency-Key": "dup"}
            )
            return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    # then all of them see one refund
    assert {status for status, _ in results} == {201}
    assert len({refund_id for _, refund_id in results}) == 1
    assert len(api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]) == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/orders", {"currency": "EUR"}),
        ("/v1/orders", {**order_body(), "currency": "eur"}),
        ("/v1/orders", {**order_body(), "surprise": 1}),
        ("/v1/orders", {**order_body(), "lines": [{"sku": "A", "name": "A", "quantity": 1,
                                                   "unit_price": 10.5}]}),
        ("/v1/orders", {**order_body(), "lines": [{"sku": "A", "name": "A", "quantity": 1,
                                                   "unit_price": "100"}]}),
        ("/v1/orders", {**order_body(), "lines": [{"sku": "A", "name": "A", "quantity": True,
                                                   "unit_price": 100}]}),
        ("/v1/orders", {**order_body(), "lines": [{"sku": "A", "name": "A", "quantity": -1,
                                                   "unit_price": 100}]}),
        ("/v1/orders", {**order_body(), "lines": []}),
    ],
)  # fmt: skip
def test_malformed_bodies_are_field_errors(api: Api, path: str, body: dict[str, Any]) -> None:
    response = api.client.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"]
    assert all({"field", "message", "code"} <= set(error) for error in problem["errors"])


def test_broken_json_and_bad_ids_are_problems_not_500s(api: Api) -> None:
    broken = api.client.post(
        "/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.headers["content-type"] == PROBLEM
    bad_id = api.client.get("/v1/orders/not-a-uuid")
    assert bad_id.status_code == 422
    missing = api.client.get("/v1/orders/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/order-not-found")
    unknown_currency = api.client.post("/v1/orders", json=order_body(currency="XYZ"))
    assert unknown_currency.json()["type"].endswith("/unknown-currency")


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic abc", "Bearer rfk_x_y"])
def test_requests_without_a_valid_key_are_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with TestClient(api.client.app) as client:
        response = client.get("/v1/orders", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"


def test_another_merchants_order_is_a_404_everywhere_and_nothing_changes(
    api: Api, container: Container
) -> None:
    # given an order of this merchant, with one refund
    order = ingest(api)
    refund = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100}).json()
    other = another_merchant(container)
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {other.api_key}"
        calls = [
            client.get(f"/v1/orders/{order['id']}"),
            client.get(f"/v1/orders/{order['id']}/refunds"),
            client.get(f"/v1/refunds/{refund['id']}"),
            client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1}),
            client.post(f"/v1/orders/{order['id']}/refund/preview", json={}),
            client.post(f"/v1/orders/{order['id']}/cancel"),
            client.post(f"/v1/orders/{order['id']}/capture"),
            client.post(f"/v1/orders/{order['id']}/fulfil"),
        ]
        listed = client.get(f"/v1/orders?query={order['id']}").json()["data"]
    # then every call looks like the order does not exist, and the owner sees no change
    assert [call.status_code for call in calls] == [404] * len(calls)
    assert listed == []
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["refunded"], after["order_status"], after["version"]) == (
        100,
        "partially_refunded",
        order["version"] + 1,
    )


def test_a_refund_with_one_bad_line_writes_nothing(api: Api) -> None:
    order = ingest(api)
    lines = order["lines"]
    response = api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": lines[0]["id"], "quantity": 1},
                        {"line_id": lines[1]["id"], "quantity": 5}]},
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["type"].endswith("/refund-quantity-exceeded")
    assert response.json()["refundable_quantity"] == 1
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["refunded"] == 0
    assert after["version"] == order["version"]
    assert api.client.get("/v1/stock/MUG").json()["on_hand"] == -2


NUL = "a\u0000b"  # PostgreSQL text cannot hold it: it must never get past validation
ONE_LINE = {"sku": "A", "name": "A", "quantity": 1, "unit_price": 100}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/orders/{order}/refund", {"amount": 10, "reason": NUL}, "body.reason"),
        ("POST", "/v1/orders/{order}/refund", {"amount": 10, "quote": NUL}, "body.quote"),
        ("POST", "/v1/orders/{order}/refund/preview", {"reason": NUL}, "body.reason"),
        ("POST", "/v1/orders/{order}/cancel", {"reason": NUL}, "body.reason"),
        ("POST", "/v1/orders/{order}/cancel", {"status": NUL}, "body.status"),
        ("POST", "/v1/orders/{order}/items/{line}/cancel", {"reason": NUL}, "body.reason"),
        ("POST", "/v1/orders", order_body(lines=[{**ONE_LINE, "sku": NUL}]), "body.lines.0.sku"),
        ("POST", "/v1/orders", order_body(lines=[{**ONE_LINE, "name": NUL}]), "body.lines.0.name"),
        ("POST", "/v1/orders", order_body(customer={"email": "a\u0000@b.example"}),
         "body.customer.email"),
        ("POST", "/v1/orders", order_body(customer={"email": "a@b.example", "external_id": NUL}),
         "body.customer.external_id"),
        ("POST", "/v1/orders", order_body(external_id=NUL), "body.external_id"),
        ("PATCH", "/v1/merchant", {"timezone": "Europe/Helsinki\u0000"}, "body.timezone"),
        ("GET", "/v1/orders?query=a%00b", None, "query.query"),
        ("GET", "/v1/reports/refunds?from=2024-01-01&to=2024-01-31&reason=a%00b", None,
         "query.reason"),
        ("GET", "/v1/reports/refunds.csv?from=2024-01-01&to=2024-01-31&staff=a%00b", None,
         "query.staff"),
        ("GET", "/v1/stock/a%00b", None, "path.sku"),
        ("PUT", "/v1/stock/a%00b", {"on_hand": 1}, "path.sku"),
        ("GET", "/l/a%00b", None, "path.token"),
    ],
)  # fmt: skip
def test_a_nul_character_in_any_request_string_is_a_field_error_and_changes_nothing(
    api: Api, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    # given an order
    order = ingest(api)
    url = path.format(order=order["id"], line=order["lines"][0]["id"])
    # when a request carries a NUL character in one of its strings
    response = api.client.request(method, url, json=body)
    # then it is a 422 validation problem naming that field, not a 500 from the database
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert [error["field"] for error in problem["errors"]] == [field]
    # and nothing was written: the order is as it was, and it is still the only one
    assert api.client.get(f"/v1/orders/{order['id']}").json()["version"] == order["version"]
    listed = api.client.get("/v1/orders").json()["data"]
    assert [other["id"] for other in listed] == [order["id"]]


@pytest.mark.parametrize("query", ["", "%20", "%20%20%09"])
def test_a_blank_order_query_lists_every_order_like_no_query(api: Api, query: str) -> None:
    # given two orders
    first, second = ingest(api), ingest(api)
    # when the orders are searched with an empty or whitespace-only query
    response = api.client.get(f"/v1/orders?query={query}")
    # then every order is listed, as without a query
    assert response.status_code == 200, response.text
    assert {order["id"] for order in response.json()["data"]} == {first["id"], second["id"]}
    assert response.json() == api.client.get("/v1/orders").json()


def test_a_padded_order_query_still_finds_by_external_id(api: Api) -> None:
    # given an order
    order = ingest(api)
    # when it is searched by its external id with spaces around it
    response = api.client.get("/v1/orders", params={"query": f"  {order['external_id']} "})
    # then it is found
    assert [found["id"] for found in response.json()["data"]] == [order["id"]]
