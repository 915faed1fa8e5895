"""Returns and store credit as webhooks, end to end (issue 19): `return.created`, a
`return.updated` for every status change with its lines, quantities, fees and amounts, and
`store_credit.updated` for every change of a customer's store credit."""

from __future__ import annotations

from typing import Any

from refundry.entrypoints.api.schemas_webhooks import WebhookPayload
from refundry.entrypoints.webhook_listener import ListenerState
from tests.conftest import Api
from tests.e2e.test_returns_api import create_return, shipped
from tests.e2e.test_webhooks import deliver, receiver, register

__all__ = ["receiver"]  # the fixture, used by name

EVENTS = ["return.created", "return.updated", "store_credit.updated"]


def events_of(state: ListenerState) -> list[dict[str, Any]]:
    received = state.delivered()
    assert all(each.verified for each in received)
    payloads = [each.payload for each in received]
    for payload in payloads:
        WebhookPayload.model_validate(payload)  # the documented shape, exactly
    return sorted(payloads, key=lambda event: event["data"]["sequence"])


def moves(events: list[dict[str, Any]], return_id: str) -> list[tuple[str, str | None, str]]:
    return [
        (event["type"], event["data"]["previous_status"], event["data"]["return"]["status"])
        for event in events
        if event["type"].startswith("return.") and event["data"]["return"]["id"] == return_id
    ]


def test_every_return_status_change_is_an_event_with_its_lines_fees_and_amounts(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    url, state = receiver
    state.signing_secrets.append(register(api, url, EVENTS)["secret"])
    # given a requested return of 2 teas, 10% restocking fee and 1.00 return shipping
    order = shipped(api)
    tea = order["lines"][2]
    made = create_return(
        api,
        order,
        lines=[{"line_id": tea["id"], "quantity": 2, "reason": "too strong"}],
        requested=True,
        restocking_fee_percent=10,
        return_shipping_fee=100,
    )
    path = f"/v1/returns/{made['id']}"
    # when it is approved, received in two parcels and refunded
    api.client.post(f"{path}/approve")
    api.client.post(f"{path}/receive", json={"lines": [{"line_id": tea["id"], "resellable": 1}]})
    api.client.post(f"{path}/receive", json={"lines": [{"line_id": tea["id"], "damaged": 1}]})
    refunded = api.client.post(
        f"{path}/refund", json={"destination": "other"}, headers={"Idempotency-Key": "ret-hook"}
    )
    assert refunded.status_code == 201, refunded.text
    # and two more returns end otherwise: one declined, one cancelled
    pot, mug = order["lines"][1], order["lines"][0]
    declined = create_return(api, order, lines=[{"line_id": pot["id"], "quantity": 1}],
                             requested=True)  # fmt: skip
    api.client.post(f"/v1/returns/{declined['id']}/decline", json={"reason": "worn"})
    withdrawn = create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 1}])
    api.client.post(f"/v1/returns/{withdrawn['id']}/cancel", json={"reason": "kept it"})
    deliver(api)
    events = events_of(state)
    # then each change is one event, in order, naming the status it left
    assert moves(events, made["id"]) == [
        ("return.created", None, "requested"),
        ("return.updated", "requested", "open"),
        ("return.updated", "open", "partially_received"),
        ("return.updated", "partially_received", "received"),
        ("return.updated", "received", "closed"),
    ]
    assert moves(events, declined["id"]) == [
        ("return.created", None, "requested"),
        ("return.updated", "requested", "declined"),
    ]
    assert moves(events, withdrawn["id"]) == [
        ("return.created", None, "open"),
        ("return.updated", "open", "cancelled"),
    ]
    # with the lines, quantities and fees as they stood at each change
    mine = [e["data"] for e in events if e["data"]["return"]["id"] == made["id"]]
    assert [
        [(line["line_id"], line["quantity"], line["resellable"], line["damaged"])
         for line in data["return"]["lines"]]
        for data in mine
    ] == [
        [(tea["id"], 2, 0, 0)], [(tea["id"], 2, 0, 0)], [(tea["id"], 2, 1, 0)],
        [(tea["id"], 2, 1, 1)], [(tea["id"], 2, 1, 1)],
    ]  # fmt: skip
    first = mine[0]["return"]
    assert (first["restocking_fee_percent"], first["return_shipping_fee"]) == (10, 100)
    assert first["lines"][0]["reason"] == "too strong"
    assert all(data["refund"] is None for data in mine[:-1])
    # and the closing event carries the amounts: 2056 less 206 and 100 kept
    closed = mine[-1]
    assert (closed["return"]["refunded"], closed["return"]["fees_kept"]) == (1750, 306)
    assert (closed["refund"]["amount"], closed["refund"]["fees"]) == (1750, 306)
    assert closed["refund"]["status"] == "not_requested"
    assert closed["idempotency_key"] == "ret-hook"
    assert closed["actor"]["type"] == "api_key"
    assert closed["return"] == api.client.get(path).json()
    # whose history keeps every change with its time, actor and reason
    history = closed["return"]["status_history"]
    assert [change["at"] for change in history] == sorted(change["at"] for change in history)
    assert all(change["actor"].startswith("api_key:") for change in history)
    ended = [
        e["data"]["return"]["status_history"][-1]
        for e in events
        if e["data"]["return"]["status"] in ("declined", "cancelled")
    ]
    assert [change["detail"] for change in ended] == ["worn", "kept it"]
    assert mine[-1]["order"]["order_status"] == "partially_refunded"


def test_store_credit_changes_are_events_with_the_balance_and_the_entries(
    api: Api, receiver: tuple[str, ListenerState]
) -> None:
    url, state = receiver
    state.signing_secrets.append(register(api, url, EVENTS)["secret"])
    # given a return of one mug received and refunded to store credit
    order = shipped(api)
    mug = order["lines"][0]
    made = create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 1}])
    api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": mug["id"], "resellable": 1}]},
    )
    refund = api.client.post(
        f"/v1/returns/{made['id']}/refund", json={"destination": "store_credit"}
    ).json()["refund"]
    # when part of it is spent at a checkout
    spent = api.client.post(
        "/v1/orders",
        json={
            "currency": "EUR",
            "customer": {"email": "ana@example.com"},
            "lines": [{"sku": "CUP", "name": "Cup", "quantity": 1, "unit_price": 1000}],
            "payment": {"store_credit": {"amount": 1000}},
        },
    )
    assert spent.status_code == 201, spent.text
    deliver(api)
    # then each change is a store_credit.updated with the balance after it and its entry
    credit = [e["data"] for e in events_of(state) if e["type"] == "store_credit.updated"]
    assert [
        (data["customer"], data["currency"], data["balance"], data["available"]) for data in credit
    ] == [("ana@example.com", "EUR", 1393, 1393), ("ana@example.com", "EUR", 393, 393)]
    assert [
        [(entry["kind"], entry["amount"], entry["refund_id"]) for entry in data["entries"]]
        for data in credit
    ] == [[("issued", 1393, refund["id"])], [("spent", -1000, None)]]
