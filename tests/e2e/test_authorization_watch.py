"""Authorizations lapse: capture refused after, and the watch flags or releases them before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from refundry.adapters.db.tables import orders as order_tables
from refundry.services.handlers import authorization_watch
from tests.conftest import Api, order_body

HORIZON = timedelta(hours=48)


def authorized(api: Api, method: str = "klarna", **overrides: Any) -> dict[str, Any]:
    body = order_body(payment={"method": method, "capture": "manual"}, **overrides)
    response = api.client.post("/v1/orders", json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["order_status"] == "authorized"
    return order


def _held_without_capture_on_fulfilment(api: Api) -> dict[str, Any]:
    body = order_body(payment={"method": "klarna", "capture": "automatic", "captured": 0})
    order: dict[str, Any] = api.client.post("/v1/orders", json=body).json()
    assert order["order_status"] == "authorized"
    return order


def lapse_in(api: Api, order: dict[str, Any], delta: timedelta) -> None:
    with api.container.engine.begin() as connection:
        connection.execute(
            order_tables.orders.update()
            .where(order_tables.orders.c.id == uuid.UUID(order["id"]))
            .values(authorization_expires_at=datetime.now(UTC) + delta)
        )


def watch(api: Api) -> list[authorization_watch.WatchedAuthorization]:
    return authorization_watch.watch_authorizations(
        api.container.uow_factory, datetime.now(UTC), HORIZON
    )


def expires_after(order: dict[str, Any]) -> timedelta:
    payment = order["payment"]
    lapses = datetime.fromisoformat(payment["authorization_expires_at"])
    return lapses - datetime.fromisoformat(order["created_at"])


def test_a_klarna_hold_lasts_28_days_and_a_card_hold_7(api: Api) -> None:
    assert expires_after(authorized(api, "klarna")) == timedelta(days=28)
    assert expires_after(authorized(api, "card")) == timedelta(days=7)
    paid = api.client.post("/v1/orders", json=order_body()).json()
    assert paid["payment"]["authorization_expires_at"] is None


def test_a_lapsed_authorization_cannot_be_captured(api: Api) -> None:
    # given a hold that lapsed an hour ago
    order = authorized(api)
    lapse_in(api, order, timedelta(hours=-1))
    # when the merchant tries to capture it
    response = api.client.post(f"/v1/orders/{order['id']}/capture", json={})
    # then it is refused, saying why, and nothing changed
    assert response.status_code == 409
    assert response.json()["type"].endswith("/order-not-capturable")
    assert "lapsed" in response.json()["detail"]
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["captured"]) == ("authorized", 0)


def test_the_watch_flags_a_lapsing_hold_once_and_leaves_later_ones_alone(api: Api) -> None:
    # given one hold lapsing within the horizon and one lapsing later
    soon, later = authorized(api), authorized(api)
    lapse_in(api, soon, timedelta(hours=5))
    lapse_in(api, later, timedelta(days=5))
    # when the watch runs twice
    first = [w.order_id for w in watch(api) if w.merchant_id == api.merchant.merchant.id]
    second = [w.order_id for w in watch(api) if w.merchant_id == api.merchant.merchant.id]
    # then the lapsing one is flagged, once, and stays authorized
    assert first == [uuid.UUID(soon["id"])]
    assert second == []
    flagged = api.client.get(f"/v1/orders/{soon['id']}").json()
    assert flagged["payment"]["authorization_flagged_at"] is not None
    assert flagged["order_status"] == "authorized"
    untouched = api.client.get(f"/v1/orders/{later['id']}").json()
    assert untouched["payment"]["authorization_flagged_at"] is None


def test_a_merchant_who_chose_void_has_lapsing_holds_released_and_stock_restored(
    api: Api,
) -> None:
    # given a merchant who wants lapsing holds released, and such a hold
    chosen = api.client.patch("/v1/merchant", json={"authorization_expiry_action": "void"})
    assert chosen.json()["authorization_expiry_action"] == "void"
    order = authorized(api)
    stock_before = api.client.get("/v1/stock/MUG").json()["on_hand"]
    lapse_in(api, order, timedelta(hours=1))
    # when the watch runs and the worker tells the provider
    watch(api)
    api.settle()
    # then the order is cancelled by the system with a reason, the hold released
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["order_status"] == "cancelled"
    assert "lapse" in after["cancel_reason"]
    assert after["payment"]["authorization_state"] == "voided"
    assert api.client.get("/v1/stock/MUG").json()["on_hand"] == stock_before + 2


def test_a_partly_shipped_order_is_only_flagged_even_when_void_was_chosen(api: Api) -> None:
    api.client.patch("/v1/merchant", json={"authorization_expiry_action": "void"})
    # (held under automatic capture, so shipping does not capture it: a capture gone astray)
    order = _held_without_capture_on_fulfilment(api)
    mug = order["lines"][0]
    shipped = api.client.post(
        f"/v1/orders/{order['id']}/fulfil", json={"lines": [{"line_id": mug["id"], "quantity": 1}]}
    )
    assert shipped.is_success, shipped.text
    lapse_in(api, order, timedelta(hours=1))
    watch(api)
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["order_status"] == "authorized"
    assert after["payment"]["authorization_flagged_at"] is not None
