"""Refunds and voids through a payment provider: the sandbox gateway as a real process.

The worker's part runs in-process here (``settle``); tests/integration/test_worker_crashes.py
runs it as its own process and kills it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container, payment_providers
from refundry.entrypoints.api.app import create_app
from refundry.services.handlers.provider_work import ProviderWork
from tests.conftest import Api, order_body, sandbox_psp_server
from tests.e2e.test_reports_api import RANGE


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/v1/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def refund(api: Api, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post(f"/v1/orders/{order_id}/refund", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def statuses(api: Api, refund_id: str) -> list[str]:
    body = api.client.get(f"/v1/refunds/{refund_id}").json()
    return [change["status"] for change in body["status_history"]]


@pytest.fixture
def own_psp(container: Container) -> Iterator[tuple[str, Container]]:
    """A sandbox gateway of this test's own (its faults touch nobody else) and the
    system wired to it."""
    with sandbox_psp_server() as base:
        settings = replace(container.settings, sandbox_psp_url=base)
        work = ProviderWork(container.uow_factory, payment_providers(settings))
        yield base, replace(container, settings=settings, provider_work=work)


@pytest.fixture
def own_api(own_psp: tuple[str, Container], api: Api) -> Iterator[Api]:
    _, wired = own_psp
    with TestClient(create_app(wired), raise_server_exceptions=False) as client:
        client.headers.update(api.client.headers)
        yield Api(client, api.merchant, wired)


def checkout_payment(base: str, amount: int, capture_method: str) -> dict[str, Any]:
    """What a checkout does before Refundry hears of the order: pay at the gateway."""
    intent: dict[str, Any] = httpx.post(
        f"{base}/v1/payment_intents",
        data={"amount": amount, "currency": "eur", "capture_method": capture_method},
        headers={"Authorization": "Bearer sk_test_checkout"},
    ).json()
    return intent


def psp_state(base: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{base}/_sandbox/state").json()
    return state


def test_a_card_refund_goes_started_processing_completed(api: Api) -> None:
    # given a captured card order and a partial refund of one mug
    order = ingest(api)
    mug = order["lines"][0]
    made = refund(api, order["id"], {"lines": [{"line_id": mug["id"], "quantity": 1}]})
    # then it starts: promised (it counts against the cap), not yet paid
    assert made["status"] == "started"
    assert made["order"]["refundable"] == order["total"] - made["amount"]
    # when the worker sends it and follows it at the provider
    api.settle()
    # then it went through every status, and the provider's id is kept
    body = api.client.get(f"/v1/refunds/{made['id']}").json()
    assert statuses(api, made["id"]) == ["started", "processing", "completed"]
    assert body["provider_reference"].startswith("re_")
    assert body["completed_at"] is not None


def test_a_refund_by_other_means_never_reaches_the_provider(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    base, _ = own_psp
    order = ingest(own_api)
    made = refund(own_api, order["id"], {"amount": 500, "method": "other"})
    own_api.settle()
    assert statuses(own_api, made["id"]) == ["not_requested"]
    assert psp_state(base)["refunds"] == []


def test_a_declined_refund_fails_with_its_reason_and_is_refundable_again(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given the card issuer will refuse the next refund
    base, _ = own_psp
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    order = ingest(own_api)
    made = refund(own_api, order["id"], {})  # everything
    assert made["order"]["order_status"] == "fully_refunded"
    # when the worker sends it
    own_api.settle()
    # then it failed with the provider's reason, and the money is refundable again
    body = own_api.client.get(f"/v1/refunds/{made['id']}").json()
    assert body["status"] == "failed"
    assert "declined" in body["failure_reason"]
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["refundable"] == order["total"]
    assert after["order_status"] == "paid"
    # and a second attempt goes through
    again = refund(own_api, order["id"], {})
    own_api.settle()
    assert statuses(own_api, again["id"]) == ["started", "processing", "completed"]


def test_a_refund_failing_after_acceptance_undoes_its_restock(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a refund of two unshipped mugs that the provider accepts and then fails
    base, _ = own_psp
    httpx.post(f"{base}/_sandbox/faults", json={"fail_refunds": 1})
    order = ingest(own_api)
    stock_before = own_api.client.get("/v1/stock/MUG").json()["on_hand"]
    mug = order["lines"][0]
    made = refund(own_api, order["id"], {"lines": [{"line_id": mug["id"], "quantity": 2}]})
    assert own_api.client.get("/v1/stock/MUG").json()["on_hand"] == stock_before + 2
    # when the provider says it failed
    own_api.settle()
    # then the units are open again, and off the shelf again
    assert statuses(own_api, made["id"]) == ["started", "processing", "failed"]
    assert own_api.client.get("/v1/stock/MUG").json()["on_hand"] == stock_before
    line = own_api.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]
    assert line["refunded_quantity"] == 0


def test_the_provider_failing_for_a_while_delays_the_refund_and_loses_nothing(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given the provider answers 500 to the next three calls
    base, _ = own_psp
    httpx.post(f"{base}/_sandbox/faults", json={"fail_next": 3})
    order = ingest(own_api)
    made = refund(own_api, order["id"], {"amount": 700})
    # when the worker keeps trying
    own_api.settle()
    # then the refund completed, and the provider paid it once
    assert statuses(own_api, made["id"]) == ["started", "processing", "completed"]
    state = psp_state(base)
    assert [r["amount"] for r in state["refunds"]] == [700]


def test_a_refund_goes_against_the_payment_the_checkout_made_at_the_gateway(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given the checkout charged the card at the gateway, and the order carries the id
    base, _ = own_psp
    total = 13046  # order_body()
    intent = checkout_payment(base, total, "automatic")
    order = ingest(own_api, payment={"method": "card", "reference": intent["id"]})
    assert order["total"] == total
    # when the whole order is refunded
    made = refund(own_api, order["id"], {})
    own_api.settle()
    # then the gateway refunded that payment, in full
    assert statuses(own_api, made["id"])[-1] == "completed"
    [paid] = psp_state(base)["refunds"]
    assert (paid["payment_intent"], paid["amount"]) == (intent["id"], total)
    assert paid["metadata"]["refundry_refund_id"] == made["id"]


def test_cancelling_an_authorized_order_releases_the_authorization(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given an order whose card was authorized, not captured, at the gateway
    base, _ = own_psp
    intent = checkout_payment(base, 13046, "manual")
    order = ingest(
        own_api, payment={"method": "card", "capture": "manual", "reference": intent["id"]}
    )
    assert order["order_status"] == "authorized"
    # when it is cancelled
    cancelled = own_api.client.post(f"/v1/orders/{order['id']}/cancel").json()
    assert cancelled["payment"]["authorization_state"] == "void_pending"
    own_api.settle()
    # then the hold is released at the gateway, and no refund was needed
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["payment"]["authorization_state"] == "voided"
    assert own_api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    [held] = psp_state(base)["payment_intents"]
    assert held["status"] == "canceled"


def test_cancelling_a_captured_card_order_refunds_it_at_the_provider(api: Api) -> None:
    order = ingest(api)
    api.client.post(f"/v1/orders/{order['id']}/cancel")
    api.settle()
    [cancellation] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert cancellation["kind"] == "cancellation"
    assert cancellation["status"] == "completed"
    assert cancellation["amount"] == order["total"]


def test_a_failed_cancellation_refund_can_be_made_again_on_the_cancelled_order(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a cancelled order whose cancellation refund the card issuer refused
    base, _ = own_psp
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    order = ingest(own_api)
    own_api.client.post(f"/v1/orders/{order['id']}/cancel")
    own_api.settle()
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["refundable"]) == ("cancelled", order["total"])
    # when the merchant refunds what is still owed
    made = refund(own_api, order["id"], {})
    own_api.settle()
    # then the money goes back and the order stays cancelled
    assert statuses(own_api, made["id"])[-1] == "completed"
    final = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert (final["order_status"], final["refundable"]) == ("cancelled", 0)
    # and it is the cancellation again (issue 19): the cancelled units with their tax and
    # shipping shares, not goodwill, restocking nothing twice
    failed, retried = own_api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert (retried["kind"], retried["goodwill"]) == ("cancellation", 0)
    assert [
        (line["sku"], line["quantity"], line["tax"], line["restocked_quantity"])
        for line in retried["lines"]
    ] == [(line["sku"], line["quantity"], line["tax"], 0) for line in failed["lines"]]
    assert (retried["shipping"], retried["tax"]) == (failed["shipping"], failed["tax"])
    assert [line["open_quantity"] for line in final["lines"]] == [0, 0, 0]
    # so the reports see a cancelled sale: net sales 0, the tax back, the units cancelled
    summary = own_api.client.get(f"/v1/reports/summary?{RANGE}").json()["totals"][0]
    assert (summary["net_sales"], summary["cancellation_count"], summary["refund_count"]) == (
        0, 1, 0,
    )  # fmt: skip
    assert summary["refunded_tax"] == summary["tax"]
    items = own_api.client.get(f"/v1/reports/items?{RANGE}").json()["data"]
    assert all(row["units_cancelled"] == row["units_sold"] for row in items)
    # and a partial refund instead is refused: the cancellation is owed whole
    another = ingest(own_api)
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    own_api.client.post(f"/v1/orders/{another['id']}/cancel")
    own_api.settle()
    part = own_api.client.post(f"/v1/orders/{another['id']}/refund", json={"amount": 100})
    assert part.status_code == 409
    assert part.json()["type"].endswith("/order-not-refundable")
    preview = own_api.client.post(f"/v1/orders/{another['id']}/refund/preview").json()
    assert (preview["amount"], preview["goodwill"]) == (another["total"], 0)


def test_refund_ids_are_the_providers_idempotency_keys(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    base, _ = own_psp
    order = ingest(own_api)
    made = refund(own_api, order["id"], {"amount": 100})
    own_api.settle()
    assert psp_state(base)["refund_requests"] == {made["id"]: 1}
    assert uuid.UUID(made["id"])


def test_a_failed_cancellation_refund_leaves_the_units_stopped_and_on_the_shelf(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    base, _ = own_psp
    httpx.post(f"{base}/_sandbox/faults", json={"reject_refunds": 1})
    order = ingest(own_api)
    stock_before = own_api.client.get("/v1/stock/MUG").json()["on_hand"]
    own_api.client.post(f"/v1/orders/{order['id']}/cancel")
    own_api.settle()
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert own_api.client.get("/v1/stock/MUG").json()["on_hand"] == stock_before + 2
    assert [line["open_quantity"] for line in after["lines"]] == [0, 0, 0]
    assert after["refundable"] == order["total"]


def test_a_void_the_provider_refuses_is_shown_on_the_order(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given an order Refundry thinks authorized, whose payment the gateway captured
    base, _ = own_psp
    intent = checkout_payment(base, 13046, "automatic")
    order = ingest(
        own_api, payment={"method": "card", "capture": "manual", "reference": intent["id"]}
    )
    # when it is cancelled and the worker asks the gateway to release the hold
    own_api.client.post(f"/v1/orders/{order['id']}/cancel")
    own_api.settle()
    # then the refusal is on the order for support to see, not only in a log
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["payment"]["authorization_state"] == "void_failed"


def test_capturing_a_hold_captures_it_at_the_gateway_so_refunds_can_follow(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a hold at the gateway
    base, _ = own_psp
    intent = checkout_payment(base, 13046, "manual")
    order = ingest(
        own_api, payment={"method": "card", "capture": "manual", "reference": intent["id"]}
    )
    # when the merchant captures it through Refundry
    captured = own_api.client.post(f"/v1/orders/{order['id']}/capture", json={})
    assert captured.status_code == 200, captured.text
    # then the gateway captured it too, and a refund of it goes through
    [held] = psp_state(base)["payment_intents"]
    assert (held["status"], held["amount_received"]) == ("succeeded", 13046)
    made = refund(own_api, order["id"], {"amount": 1000})
    own_api.settle()
    assert statuses(own_api, made["id"])[-1] == "completed"


def test_a_capture_the_gateway_refuses_changes_nothing(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a hold the gateway has already released
    base, _ = own_psp
    intent = checkout_payment(base, 13046, "manual")
    httpx.post(
        f"{base}/v1/payment_intents/{intent['id']}/cancel",
        headers={"Authorization": "Bearer sk_test_checkout"},
    )
    order = ingest(
        own_api, payment={"method": "card", "capture": "manual", "reference": intent["id"]}
    )
    # when the merchant captures it
    response = own_api.client.post(f"/v1/orders/{order['id']}/capture", json={})
    # then the refusal comes back as a problem and the order is still only authorized
    assert response.status_code == 402, response.text
    assert response.json()["type"].endswith("/provider-rejected")
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["captured"]) == ("authorized", 0)


def klarna_checkout(base: str, amount: int) -> str:
    """What a Klarna checkout does first: an order authorized at Klarna (the sandbox's)."""
    answer = httpx.post(
        f"{base}/ordermanagement/v1/orders",
        json={"order_amount": amount, "purchase_currency": "EUR"},
        auth=("sandbox", "sandbox"),
    )
    assert answer.status_code == 201, answer.text
    order_id: str = answer.json()["order_id"]
    return order_id


def klarna_order(base: str, order_id: str) -> dict[str, Any]:
    [order] = [o for o in psp_state(base)["klarna"]["orders"] if o["order_id"] == order_id]
    return order


def test_a_merchant_without_automatic_capture_holds_and_captures_on_fulfilment(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a merchant who turned automatic capture off (seed 001's toggle)
    base, _ = own_psp
    toggled = own_api.client.patch("/v1/merchant", json={"automatic_capture": False})
    assert toggled.json()["automatic_capture"] is False
    klarna_id = klarna_checkout(base, 13046)
    order = ingest(own_api, payment={"method": "klarna", "reference": klarna_id})
    # then its orders are only held
    assert (order["order_status"], order["payment"]["capture"]) == ("authorized", "manual")
    # when the order ships
    shipped = own_api.client.post(f"/v1/orders/{order['id']}/fulfil", json={})
    # then the hold was captured at Klarna first, and the order is paid
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["order_status"], shipped.json()["captured"]) == ("paid", 13046)
    assert klarna_order(base, klarna_id)["captured_amount"] == 13046
    # and a refund after capture goes through Klarna, keyed by the refund id
    made = refund(own_api, order["id"], {"amount": 1000, "reason": "Late delivery"})
    own_api.settle()
    assert statuses(own_api, made["id"]) == ["started", "completed"]
    [paid] = psp_state(base)["klarna"]["refunds"]
    assert (paid["refunded_amount"], paid["reference"]) == (1000, made["id"])
    assert klarna_order(base, klarna_id)["refunded_amount"] == 1000


def test_a_cancel_before_capture_removes_the_hold_and_that_is_the_refund(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # seed 001: with automatic capture off, cancelling removes the Klarna authorization
    base, _ = own_psp
    own_api.client.patch("/v1/merchant", json={"automatic_capture": False})
    klarna_id = klarna_checkout(base, 13046)
    order = ingest(own_api, payment={"method": "klarna", "reference": klarna_id})
    own_api.client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "Changed mind"})
    own_api.settle()
    after = own_api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["payment"]["authorization_state"]) == (
        "cancelled",
        "voided",
    )
    assert after["refunded"] == 0  # nothing was taken, so nothing is paid back
    assert klarna_order(base, klarna_id)["status"] == "CANCELLED"


def test_a_klarna_refund_beyond_what_klarna_captured_is_refused_and_refundable_again(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given an order Refundry counts as paid but whose Klarna order was never captured
    base, _ = own_psp
    klarna_id = klarna_checkout(base, 13046)
    order = ingest(own_api, payment={"method": "klarna", "reference": klarna_id})
    assert order["order_status"] == "paid"
    # when it is refunded
    made = refund(own_api, order["id"], {"amount": 500})
    own_api.settle()
    # then Klarna's refusal fails the refund with its reason, and the money is owed again
    body = own_api.client.get(f"/v1/refunds/{made['id']}").json()
    assert body["status"] == "failed"
    assert "REFUND_NOT_ALLOWED" in body["failure_reason"]
    assert own_api.client.get(f"/v1/orders/{order['id']}").json()["refundable"] == 13046


def test_a_replacement_waiting_for_its_difference_captures_only_the_money_part_at_the_gateway(
    own_api: Api, own_psp: tuple[str, Container]
) -> None:
    # given a shipped mug (13.93) returned and exchanged for a 48.00 kettle, the checkout
    # holding the 34.07 difference at the gateway for the replacement
    base, _ = own_psp
    order = own_api.client.post("/v1/orders/" + ingest(own_api)["id"] + "/fulfil").json()
    mug = order["lines"][0]["id"]
    made = own_api.client.post(
        f"/v1/orders/{order['id']}/returns", json={"lines": [{"line_id": mug, "quantity": 1}]}
    ).json()
    own_api.client.post(
        f"/v1/returns/{made['id']}/receive", json={"lines": [{"line_id": mug, "resellable": 1}]}
    )
    intent = checkout_payment(base, 4800 - 1393, "manual")
    kettle = {"sku": "KETTLE", "name": "Kettle", "quantity": 1, "unit_price": 4000, "tax": 800}
    exchanged = own_api.client.post(
        f"/v1/returns/{made['id']}/exchange",
        json={"lines": [kettle], "payment_reference": intent["id"]},
    ).json()
    replacement = exchanged["replacement_order"]["id"]
    # when the hold is recorded and captured through Refundry
    assert own_api.client.post(f"/v1/orders/{replacement}/authorize").is_success
    captured = own_api.client.post(f"/v1/orders/{replacement}/capture")
    assert captured.status_code == 200, captured.text
    # then the gateway captured the money part only (the store credit is not there)
    [held] = [i for i in psp_state(base)["payment_intents"] if i["id"] == intent["id"]]
    assert (held["status"], held["amount_received"]) == ("succeeded", 4800 - 1393)
    assert captured.json()["captured"] == 4800
