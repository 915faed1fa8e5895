"""The order page's payment section (seed 001's payment steps) on the server's side:
the hold's state and expiry, the Refund of a hold that leads to Cancel order, the
Automatic Capture switch that only an admin may flip (even by a hand-made POST), and
the timeline's entry when the provider confirms the removal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from refundry.domain.staff import Permission, Role
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, csrf_of, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests


def held_order(api: Api, **payment: str) -> dict[str, Any]:
    body = order_body(payment={"method": "card", "capture": "manual", **payment})
    made = api.client.post("/v1/orders", json=body)
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def merchant_captures_automatically(api: Api) -> bool:
    found: bool = api.client.get("/v1/merchant").json()["automatic_capture"]
    return found


def test_a_hold_shows_its_state_and_expiry_and_its_refund_leads_to_cancel(
    api: Api, browser_client: TestClient
) -> None:
    order = held_order(api)
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    payment = page[page.index('<section id="payment"') :]
    assert "Authorized: held, not captured" in payment
    expires = order["payment"]["authorization_expires_at"][:10]
    assert expires in payment  # the hold's expiry, before the cancel
    assert 'aria-label="Payment settings"' in payment
    assert 'data-open-dialog="refund-hold"' in payment
    assert "Nothing is captured on this order" in page

    cancelled = api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    assert "Removal requested from" in page
    assert "refund-hold" not in page  # nothing is held any more: no Refund of a hold
    assert "Authorization removed" not in page  # not before the provider says so

    api.settle()  # the worker asks the provider to release the hold; it confirms
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    assert "Removed: the hold is released" in page
    assert "No longer applies: removed" in page
    timeline = page[page.index("<h2>Timeline</h2>") :]
    assert "Authorization removed" in timeline
    assert "is released to the customer" in timeline
    answered = api.client.get(f"/v1/orders/{order['id']}").json()["payment"]
    assert answered["authorization_state"] == "voided"
    assert answered["authorization_void_answered_at"] is not None


def test_a_removal_the_provider_refuses_says_so(api: Api, browser_client: TestClient) -> None:
    order = held_order(api, reference="pi_the_gateway_does_not_know")
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    assert api.client.post(f"/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    api.settle()  # the gateway refuses: it knows no such payment
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    assert "Removal refused by" in page
    timeline = page[page.index("<h2>Timeline</h2>") :]
    assert "Authorization removal refused" in timeline
    assert "Authorization removed" not in timeline


def test_only_an_admin_flips_automatic_capture(api: Api, browser_client: TestClient) -> None:
    order = held_order(api)
    clerk = make_user(
        api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL, Permission.REFUND
    )
    sign_in(browser_client, clerk)
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    assert 'role="switch"' not in page
    assert "Only an admin can change the payment settings" in page
    refused = browser_client.post(
        "/dashboard/payment-settings", data={"csrf": csrf_of(page), "order": order["id"]}
    )
    assert refused.status_code == 403
    assert merchant_captures_automatically(api)

    admin = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, admin)
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    assert 'role="switch" name="automatic_capture"' in page
    # htmx sends the switch's form; a switch that is off sends no value
    saved = browser_client.post(
        "/dashboard/payment-settings",
        data={"csrf": csrf_of(page), "order": order["id"]},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert "automatic capture is off" in saved.text
    assert not merchant_captures_automatically(api)
    # a new order is now held (captured when it ships)
    made = api.client.post("/v1/orders", json=order_body())
    assert made.json()["payment"]["capture"] == "manual"
    back_on = browser_client.post(
        "/dashboard/payment-settings",
        data={"csrf": csrf_of(page), "order": order["id"], "automatic_capture": "on"},
        follow_redirects=False,
    )
    assert back_on.status_code == 303
    assert back_on.headers["location"] == f"/dashboard/orders/{order['id']}"
    assert merchant_captures_automatically(api)


def test_the_switch_needs_the_csrf_token(api: Api, browser_client: TestClient) -> None:
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    refused = browser_client.post("/dashboard/payment-settings", data={"csrf": "forged"})
    assert refused.status_code == 422  # as every dashboard form refuses a stale token
    assert merchant_captures_automatically(api)
