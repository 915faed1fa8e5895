"""Store credit through the API: issued by refunds, spent at checkout, given back first
when an order paid with it is refunded, adjusted by support, and refused with a clear
problem (nothing written) beyond what the customer has."""

from __future__ import annotations

from typing import Any

import httpx

from refundry.bootstrap import Container
from tests.conftest import Api, order_body
from tests.e2e.test_provider_refunds import own_api, own_psp  # noqa: F401 -- fixtures

CUSTOMER = "cust-ana"
TOTAL = 13046  # order_body's total


def ingest(api: Api, payment: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    customer = {"email": "ana@example.com", "external_id": CUSTOMER}
    body = order_body(customer=customer, **overrides)
    if payment is not None:
        body["payment"] = payment
    made = api.client.post("/v1/orders", json=body)
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def store_credit(api: Api, customer: str = CUSTOMER) -> dict[str, Any]:
    answer = api.client.get(f"/v1/customers/{customer}/store-credit")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def available(api: Api, currency: str = "EUR") -> int:
    for balance in store_credit(api)["balances"]:
        if balance["currency"] == currency:
            assert isinstance(balance["available"], int)
            return balance["available"]
    return 0


def grant(api: Api, amount: int, currency: str = "EUR", **headers: str) -> httpx.Response:
    return api.client.post(
        f"/v1/customers/{CUSTOMER}/store-credit/adjustments",
        json={"currency": currency, "amount": amount, "note": "goodwill"},
        headers=headers,
    )


def kinds(api: Api) -> list[tuple[str, int]]:
    return [(entry["kind"], entry["amount"]) for entry in store_credit(api)["entries"]]


def test_a_refund_to_store_credit_completes_at_once_and_credits_the_customer(api: Api) -> None:
    # given a card order
    order = ingest(api)
    mug = order["lines"][0]
    request = {"lines": [{"line_id": mug["id"], "quantity": 1}], "method": "store_credit"}
    # when one mug is previewed and refunded to store credit with the preview's quote
    preview = api.client.post(f"/v1/orders/{order['id']}/refund/preview", json=request).json()
    assert (preview["method"], preview["amount"]) == ("store_credit", 1393)
    assert (preview["store_credit_value"], preview["money_amount"]) == (1393, 0)
    made = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={**request, "quote": preview["quote"]}
    )
    # then it is completed at once, nothing goes to the provider, and the customer has it
    assert made.status_code == 201, made.text
    refund = made.json()
    assert (refund["method"], refund["status"]) == ("store_credit", "completed")
    assert (refund["store_credit_value"], refund["money_amount"]) == (1393, 0)
    assert refund["order"]["store_credit_refunded"] == 1393
    assert refund["order"]["order_status"] == "partially_refunded"
    shown = store_credit(api)
    assert shown["balances"] == [
        {"currency": "EUR", "available": 1393, "ledger_balance": 1393, "next_expiry_at": None}
    ]
    [entry] = shown["entries"]
    assert (entry["kind"], entry["amount"], entry["refund_id"]) == ("issued", 1393, refund["id"])
    assert entry["order_id"] == order["id"]
    api.settle()
    assert kinds(api) == [("issued", 1393)]  # the worker had nothing to send
    # and the change was told to webhooks
    events = api.client.get("/v1/events", params={"type": "store_credit.updated"}).json()
    [event] = events["data"]
    data = event["payload"]["data"]
    assert (data["customer"], data["balance"], data["available"]) == (CUSTOMER, 1393, 1393)
    assert [item["kind"] for item in data["entries"]] == ["issued"]


def test_checkout_spends_store_credit_and_the_rest_is_paid_by_card(api: Api) -> None:
    # given a customer with 50.00 of store credit
    assert grant(api, 5000).status_code == 201
    # when an order spends 30.00 of it and the card pays the rest
    order = ingest(api, {"method": "card", "store_credit": {"amount": 3000}})
    # then the order is paid in full, and 20.00 are left
    assert (order["order_status"], order["captured"]) == ("paid", TOTAL)
    assert order["payment"]["method"] == "card"
    assert order["payment"]["store_credit"] == {"amount": 3000, "refunded": 0, "returnable": 3000}
    assert available(api) == 2000
    assert kinds(api) == [("spent", -3000), ("adjusted", 5000)]
    assert store_credit(api)["entries"][0]["order_id"] == order["id"]


def test_a_refund_of_an_order_paid_partly_with_store_credit_gives_it_back_first(
    api: Api,
) -> None:
    assert grant(api, 3000).status_code == 201
    order = ingest(api, {"store_credit": {"amount": 3000}})
    # when 20.00 is refunded: all of it store credit, at once
    first = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 2000}).json()
    assert (first["method"], first["status"]) == ("original", "completed")
    assert (first["store_credit_value"], first["money_amount"]) == (2000, 0)
    assert available(api) == 2000
    # when the rest is refunded: 10.00 more store credit, the remainder to the card
    rest = api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert (rest["store_credit_value"], rest["money_amount"]) == (1000, TOTAL - 3000)
    assert rest["status"] == "started"
    assert rest["order"]["payment"]["store_credit"]["returnable"] == 0
    # its store credit part is credited when the provider settles the refund, not before
    assert available(api) == 2000
    api.settle()
    assert available(api) == 3000
    final = api.client.get(f"/v1/orders/{order['id']}").json()
    assert final["order_status"] == "fully_refunded"
    assert final["payment"]["store_credit"] == {"amount": 3000, "refunded": 3000, "returnable": 0}


def test_an_order_paid_wholly_with_store_credit_is_refunded_to_store_credit(api: Api) -> None:
    assert grant(api, TOTAL + 100).status_code == 201
    # store credit covering the total makes the method store_credit
    order = ingest(api, {"store_credit": {"amount": TOTAL}})
    assert (order["payment"]["method"], order["order_status"]) == ("store_credit", "paid")
    assert available(api) == 100
    refund = api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert (refund["method"], refund["status"], refund["store_credit_value"]) == (
        "store_credit",
        "completed",
        TOTAL,
    )
    assert available(api) == TOTAL + 100


def test_cancelling_an_order_paid_with_store_credit_gives_it_back(api: Api) -> None:
    assert grant(api, 4000).status_code == 201
    order = ingest(api, {"store_credit": {"amount": 4000}})
    assert available(api) == 0
    cancelled = api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order_status"] == "cancelled"
    [refund] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert (refund["kind"], refund["store_credit_value"]) == ("cancellation", 4000)
    assert refund["money_amount"] == TOTAL - 4000
    api.settle()
    assert available(api) == 4000


def test_a_failed_refund_credits_no_store_credit(
    own_api: Api,  # noqa: F811 -- the fixture
    own_psp: tuple[str, Container],  # noqa: F811
) -> None:
    base, _ = own_psp
    assert grant(own_api, 1000).status_code == 201
    order = ingest(own_api, {"store_credit": {"amount": 1000}})
    own_api.settle()
    # given an issuer that refuses the next refund
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    made = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert (made["store_credit_value"], made["status"]) == (1000, "started")
    own_api.settle()
    # then the refund failed and the store credit part was never credited
    failed = own_api.client.get(f"/v1/refunds/{made['id']}").json()
    assert failed["status"] == "failed"
    assert available(own_api) == 0
    # and a new refund gives the store credit back first again
    again = own_api.client.post(f"/v1/orders/{order['id']}/refund", json={}).json()
    assert again["store_credit_value"] == 1000
    own_api.settle()
    assert available(own_api) == 1000


def test_store_credit_above_the_balance_is_refused_and_nothing_is_written(api: Api) -> None:
    assert grant(api, 1000).status_code == 201
    before = api.client.get("/v1/orders").json()["data"]
    refused = api.client.post(
        "/v1/orders",
        json={**order_body(customer={"email": "a@x.example", "external_id": CUSTOMER}),
              "payment": {"store_credit": {"amount": 1001}}},
        headers={"Idempotency-Key": "too-much-credit"},
    )  # fmt: skip
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "https://refundry.dev/problems/store-credit-insufficient"
    assert (problem["balance"], problem["requested"]) == (1000, 1001)
    assert api.client.get("/v1/orders").json()["data"] == before
    assert kinds(api) == [("adjusted", 1000)]


def test_bad_store_credit_input_is_a_problem_and_writes_nothing(api: Api) -> None:
    assert grant(api, 100_000).status_code == 201
    cases = [
        ({"store_credit": {"amount": 0}}, "validation-error"),
        ({"store_credit": {"amount": -5}}, "validation-error"),
        ({"store_credit": {"amount": TOTAL + 1}}, "invalid-order"),
        ({"method": "store_credit", "store_credit": {"amount": 100}}, "invalid-order"),
        ({"store_credit": {"amount": 100}, "points": {"redeemed": 10, "value": 100}},
         "invalid-order"),
        ({"store_credit": {"amount": 100}, "capture": "manual"}, "invalid-order"),
    ]  # fmt: skip
    for payment, problem_type in cases:
        answer = api.client.post("/v1/orders", json=order_body(payment=payment))
        assert answer.status_code == 422, (payment, answer.text)
        assert answer.json()["type"].endswith(f"/{problem_type}"), (payment, answer.text)
    assert api.client.get("/v1/orders").json()["data"] == []
    # an unknown currency, a zero amount, a blank note, a correction below zero
    for body, problem_type in [
        ({"currency": "XYZ", "amount": 100, "note": "x"}, "unknown-currency"),
        ({"currency": "EUR", "amount": 0, "note": "x"}, "invalid-input"),
        ({"currency": "EUR", "amount": 100, "note": " "}, "invalid-input"),
        ({"currency": "EUR", "amount": -100_001, "note": "x"}, "store-credit-insufficient"),
        ({"currency": "USD", "amount": -1, "note": "x"}, "store-credit-insufficient"),
    ]:
        answer = api.client.post(f"/v1/customers/{CUSTOMER}/store-credit/adjustments", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["type"].endswith(f"/{problem_type}"), (body, answer.text)
    assert kinds(api) == [("adjusted", 100_000)]
    assert [balance["currency"] for balance in store_credit(api)["balances"]] == ["EUR"]


def test_a_float_paid_order_cannot_be_refunded_to_store_credit(api: Api) -> None:
    assert api.client.put("/v1/float", json={"currency": "EUR"}).is_success
    assert api.client.post("/v1/float/top-ups", json={"amount": 100_000}).status_code == 201
    order = ingest(api, {"method": "float"})
    answer = api.client.post(
        f"/v1/orders/{order['id']}/refund", json={"amount": 100, "method": "store_credit"}
    )
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("/store-credit-not-allowed")
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []


def test_adjustments_are_idempotent_and_corrections_never_go_below_zero(api: Api) -> None:
    first = grant(api, 2500, **{"Idempotency-Key": "grant-1"})
    again = grant(api, 2500, **{"Idempotency-Key": "grant-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert first.json()["balance"]["available"] == 2500
    assert first.json()["entry"]["note"] == "goodwill"
    corrected = grant(api, -2500)
    assert corrected.status_code == 201
    assert corrected.json()["balance"]["available"] == 0
    assert kinds(api) == [("adjusted", -2500), ("adjusted", 2500)]


def test_store_credit_issued_expires_after_the_merchants_validity(api: Api) -> None:
    patched = api.client.patch("/v1/merchant", json={"store_credit_validity_days": 30})
    assert patched.status_code == 200, patched.text
    assert patched.json()["store_credit_validity_days"] == 30
    granted = grant(api, 700).json()
    assert granted["entry"]["expires_at"] is not None
    assert granted["balance"]["next_expiry_at"] == granted["entry"]["expires_at"]
    # other settings leave it as it is; null makes credit issued from now on last forever
    api.client.patch("/v1/merchant", json={"automatic_capture": True})
    assert api.client.get("/v1/merchant").json()["store_credit_validity_days"] == 30
    api.client.patch("/v1/merchant", json={"store_credit_validity_days": None})
    assert api.client.get("/v1/merchant").json()["store_credit_validity_days"] is None
    assert grant(api, 300).json()["entry"]["expires_at"] is None
    bad = api.client.patch("/v1/merchant", json={"store_credit_validity_days": 0})
    assert bad.status_code == 422


def test_another_merchants_customer_has_no_store_credit_here(
    api: Api, container: Container
) -> None:
    from refundry.services import transactions
    from refundry.services.handlers.merchants import create_merchant

    assert grant(api, 900).status_code == 201
    other = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    answer = api.client.get(
        f"/v1/customers/{CUSTOMER}/store-credit",
        headers={"Authorization": f"Bearer {other.api_key}"},
    )
    assert answer.json()["balances"] == []


def test_the_summary_reports_store_credit_issued_spent_and_outstanding(api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    # given 50.00 granted, 13.93 refunded to store credit and 30.00 spent, today
    assert grant(api, 5000).status_code == 201
    order = ingest(api)
    mug = order["lines"][0]
    api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}], "method": "store_credit"},
    )
    ingest(api, {"store_credit": {"amount": 3000}})
    today = datetime.now(UTC).date()
    span = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    report = api.client.get(f"/v1/reports/summary?{span}").json()
    [total] = report["totals"]
    # then the period issued 13.93, spent 30.00, and 33.93 is owed at its end
    assert (total["store_credit_issued"], total["store_credit_spent"]) == (1393, 3000)
    assert total["store_credit_outstanding"] == 5000 + 1393 - 3000
    # and a range after today still owes it (nothing moved, the balance stands)
    later = today + timedelta(days=30)
    after = api.client.get(f"/v1/reports/summary?from={later}&to={later}").json()
    [owed] = after["totals"]
    assert (owed["orders"], owed["store_credit_issued"], owed["store_credit_outstanding"]) == (
        0,
        0,
        3393,
    )


def test_a_blank_customer_key_is_refused_and_nothing_is_granted(api: Api) -> None:
    refused = api.client.post(
        "/v1/customers/%20/store-credit/adjustments",
        json={"currency": "EUR", "amount": 500, "note": "goodwill"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/invalid-input")
    assert api.client.get("/v1/customers/%20/store-credit").json()["balances"] == []
