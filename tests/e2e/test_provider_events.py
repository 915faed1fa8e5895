"""Inbound provider events: signed, stored once, applied in the request that receives
them (no worker round: none runs in these tests)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import stripe

from refundry.config import DEFAULT_SANDBOX_WEBHOOK_SECRET
from tests.conftest import Api, order_body

EVENTS = "/v1/providers/sandbox/events"


def signed(event: dict[str, Any], secret: str = DEFAULT_SANDBOX_WEBHOOK_SECRET) -> dict[str, Any]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    return {"content": body, "headers": {"Stripe-Signature": header}}


def refund_event(
    refund: dict[str, Any], event_type: str = "charge.refund.updated"
) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "data": {"object": {"object": "refund", "currency": "eur", **refund}},
    }


def ingest(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post("/v1/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def test_a_refund_made_in_the_providers_dashboard_is_recorded_once_however_often_told(
    api: Api,
) -> None:
    # given an order paid with a payment the gateway knows, refunded in its own dashboard
    reference = f"pi_{uuid.uuid4().hex[:12]}"
    order = ingest(api, payment={"method": "card", "reference": reference})
    event = refund_event(
        {"id": "re_dash1", "amount": 2000, "status": "succeeded", "payment_intent": reference}
    )
    # when the gateway delivers the event twice
    first = api.client.post(EVENTS, **signed(event))
    again = api.client.post(EVENTS, **signed(event))
    # then both deliveries are acknowledged, the second as a duplicate
    assert (first.status_code, first.json()) == (200, {"received": True, "duplicate": False})
    assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": True})
    # and the refund is recorded once, as external and completed, counting against the cap
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [(r["kind"], r["status"], r["amount"], r["provider_reference"]) for r in refunds] == [
        ("external", "completed", 2000, "re_dash1")
    ]
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["refundable"] == order["total"] - 2000
    assert after["order_status"] == "partially_refunded"


def test_a_second_event_about_the_same_dashboard_refund_adds_nothing(api: Api) -> None:
    reference = f"pi_{uuid.uuid4().hex[:12]}"
    order = ingest(api, payment={"method": "card", "reference": reference})
    refund = {"id": "re_dash2", "amount": 500, "status": "succeeded", "payment_intent": reference}
    api.client.post(EVENTS, **signed(refund_event(refund, "refund.created")))
    api.client.post(EVENTS, **signed(refund_event(refund, "charge.refund.updated")))
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [r["amount"] for r in refunds] == [500]


def test_an_event_about_our_own_refund_settles_it(api: Api) -> None:
    # given a refund Refundry started
    order = ingest(api)
    made = api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 300}).json()
    # when the provider says it succeeded, naming it by the metadata we sent
    event = refund_event(
        {
            "id": "re_ours",
            "amount": 300,
            "status": "succeeded",
            "payment_intent": None,
            "metadata": {"refundry_refund_id": made["id"], "refundry_order_id": order["id"]},
        }
    )
    assert api.client.post(EVENTS, **signed(event)).status_code == 200
    # then it is completed at once, before any worker sends it, and recorded once (not
    # mistaken for a dashboard refund)
    body = api.client.get(f"/v1/refunds/{made['id']}").json()
    assert body["status"] == "completed"
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert len(refunds) == 1


def test_an_event_with_a_wrong_signature_is_refused_and_stored_nowhere(api: Api) -> None:
    reference = f"pi_{uuid.uuid4().hex[:12]}"
    order = ingest(api, payment={"method": "card", "reference": reference})
    event = refund_event(
        {"id": "re_forged", "amount": 9000, "status": "succeeded", "payment_intent": reference}
    )
    forged = api.client.post(EVENTS, **signed(event, secret="whsec_not_the_secret"))
    assert forged.status_code == 400
    assert forged.json()["type"].endswith("/provider-event-invalid")
    unsigned = api.client.post(EVENTS, content=json.dumps(event))
    assert unsigned.status_code == 400
    api.settle()
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    # and a genuine delivery of that event id afterwards is still taken
    assert api.client.post(EVENTS, **signed(event)).json()["duplicate"] is False


def test_events_of_an_unknown_provider_or_type_are_answered_without_work(api: Api) -> None:
    other = {"id": "evt_x", "object": "event", "type": "customer.created", "data": {"object": {}}}
    assert api.client.post("/v1/providers/nobody/events", **signed(other)).status_code == 404
    answered = api.client.post(EVENTS, **signed(other))
    assert answered.json() == {"received": True, "duplicate": False}
    assert api.client.post(EVENTS, content="not json").status_code == 400


def test_a_signed_but_malformed_event_is_a_400_and_stores_nothing(api: Api) -> None:
    # signed with the right secret, yet not something we can store or act on: each is
    # refused before the database sees it (PostgreSQL would reject NUL and long text)
    good = {"id": "re_ok", "amount": 100, "status": "succeeded", "payment_intent": "pi_x"}
    malformed: list[dict[str, Any]] = [
        {**refund_event(good), "id": "evt_" + "x" * 300},
        {**refund_event(good), "id": "evt_\u0000"},
        {**refund_event(good), "type": 7},
        {**refund_event(good), "data": {"object": ["not", "a", "refund"]}},
        refund_event({**good, "amount": -5}),
        refund_event({**good, "amount": "100"}),
        refund_event({**good, "payment_intent": 12345}),
        refund_event({**good, "id": "re_" + "y" * 300}),
        refund_event({**good, "metadata": "not a mapping"}),
        refund_event({**good, "currency": None}),
    ]
    for event in malformed:
        response = api.client.post(EVENTS, **signed(event))
        assert response.status_code == 400, (event, response.text)
        assert response.json()["type"].endswith("/provider-event-invalid")
