"""The order page's More options keeps every action (issue 21): one that cannot be used now
is shown disabled (aria-disabled, out of the Tab order) with why in plain words under it,
instead of vanishing; and the server refuses it all the same when a form is made by hand.
The browser tests (tests/browser/test_menus.py, test_keyboard.py) check the menu in
Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import (
    browser_client,
    card_order,
    csrf_of,
    gift_order,
    make_user,
    sign_in,
)
from tests.e2e.test_dashboard_cancel_reasons import assert_plain, disabled_reasons

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests

MENU = re.compile(r'<details class="menu" id="order-menu">(.*?)</details>', re.S)


@pytest.fixture
def admin(api: Api, container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        sign_in(client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
        yield client


def menu_of(client: TestClient, order: dict[str, Any]) -> str:
    found = MENU.search(client.get(f"/dashboard/orders/{order['id']}").text)
    assert found, "the order page has its More options"
    return found.group(1)


def why_not(menu: str, action: str) -> str | None:
    """The reason under ``action`` when it is disabled; None when it can be used."""
    said = disabled_reasons(menu, re.escape(action))
    if not said:
        assert re.search(rf"<(?:a|button) [^>]*>{re.escape(action)}</", menu), action
        return None
    [reason] = said
    assert_plain(reason)
    return reason


def test_a_paid_orders_menu_offers_refund_and_cancel_and_says_why_not_return(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    menu = menu_of(admin, order)
    assert why_not(menu, "Refund") is None
    assert f'<a class="button" href="/dashboard/orders/{order["id"]}/refund">Refund</a>' in menu
    assert why_not(menu, "Cancel order") is None
    nothing_shipped = "Nothing has shipped yet, so there is nothing to return."
    assert why_not(menu, "Create return") == nothing_shipped
    # a disabled entry is announced as such, out of the Tab order, its reason its description
    entry = re.search(r'<a class="button" role="link" aria-disabled="true"[^>]*>', menu)
    assert entry
    assert 'href="' not in entry.group(0), "no link to follow, nothing to Tab to"
    assert 'aria-describedby="why-create-return"' in entry.group(0)
    assert '<p class="why-not" id="why-create-return">' in menu


def test_every_action_a_finished_order_cannot_take_stays_in_the_menu_with_why(
    api: Api, admin: TestClient
) -> None:
    # given a fully refunded order, a canceled one, a held one and a gift-card order
    refunded, canceled = card_order(api), card_order(api)
    assert api.client.post(f"/v1/orders/{refunded['id']}/refund", json={}).status_code == 201
    assert api.client.post(f"/v1/orders/{canceled['id']}/cancel", json={}).is_success
    held = api.client.post(
        "/v1/orders", json=order_body(payment={"method": "card", "capture": "manual"})
    ).json()
    links = gift_order(api)
    # then each says why Refund, Create return or Cancel order cannot be used
    menu = menu_of(admin, refunded)
    assert why_not(menu, "Refund") == "Nothing is left to refund on this order."
    assert why_not(menu, "Cancel order") == (
        "This order is already fully refunded, so nothing is left to cancel."
    )
    menu = menu_of(admin, canceled)
    assert why_not(menu, "Refund") == "This order is canceled, so nothing is left to refund."
    assert why_not(menu, "Cancel order") == "This order is already canceled."
    menu = menu_of(admin, held)
    assert why_not(menu, "Refund") == (
        "No money has been taken for this order yet, so there is nothing to refund. "
        "Cancel the order to release the hold on the customer's money."
    )
    assert why_not(menu, "Cancel order") is None
    menu = menu_of(admin, links)
    assert why_not(menu, "Create return") == (
        "Gift-card links and digital goods do not come back by post: cancel or refund them instead."
    )


def test_a_shipped_order_whose_units_are_all_in_a_return_says_so(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    assert api.client.post(f"/v1/orders/{order['id']}/fulfil").is_success
    lines = [{"line_id": line["id"], "quantity": line["quantity"]} for line in order["lines"]]
    made = api.client.post(f"/v1/orders/{order['id']}/returns", json={"lines": lines})
    assert made.status_code == 201, made.text
    menu = menu_of(admin, order)
    assert why_not(menu, "Create return") == (
        "Every shipped unit is refunded or in a return already."
    )


def test_without_the_permissions_every_action_says_which_is_missing_and_is_refused(
    api: Api, browser_client: TestClient
) -> None:
    order = card_order(api)
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.REPORTS)
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}").text
    found = MENU.search(page)
    assert found
    menu = found.group(1)
    assert why_not(menu, "Refund") == "You need the refund permission to refund orders."
    assert why_not(menu, "Create return") == "You need the refund permission to create returns."
    assert why_not(menu, "Cancel order") == "You need the cancel permission to cancel orders."
    # the buttons beside the menu offer none of them
    assert ">Refund order</a>" not in page
    # and a form made by hand is refused on the server
    csrf = csrf_of(page)
    for path, data in (
        ("refund", {"csrf": csrf, "mode": "full", "quote": "made-up"}),
        ("returns", {"csrf": csrf, f"quantity-{order['lines'][0]['id']}": "1"}),
        ("cancel", {"csrf": csrf}),
    ):
        refused = browser_client.post(f"/dashboard/orders/{order['id']}/{path}", data=data)
        assert refused.status_code == 403, path
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (after["order_status"], after["refunded"]) == ("paid", 0)


def test_a_disabled_action_sent_by_hand_is_refused_and_writes_nothing(
    api: Api, admin: TestClient
) -> None:
    # given a fully refunded order, whose menu shows every action disabled
    order = card_order(api)
    assert api.client.post(f"/v1/orders/{order['id']}/refund", json={}).status_code == 201
    page = admin.get(f"/dashboard/orders/{order['id']}").text
    menu = MENU.search(page)
    assert menu
    assert all(why_not(menu.group(1), a) for a in ("Refund", "Create return", "Cancel order"))
    csrf = csrf_of(page)
    # when each is sent anyway: a review of a full refund, a refund, a return, a cancel
    review = admin.get(f"/dashboard/orders/{order['id']}/refund/review", params={"mode": "full"})
    assert review.status_code == 409
    assert "Nothing is left to refund on this order." in review.text
    refund = admin.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={"csrf": csrf, "mode": "edit", "amount": "1.00", "quote": "made-up"},
        follow_redirects=False,
    )
    assert refund.status_code == 303  # back to Edit refund, saying why
    assert "Nothing is left to refund on this order." in admin.get(refund.headers["location"]).text
    made = admin.post(
        f"/dashboard/orders/{order['id']}/returns",
        data={"csrf": csrf, f"quantity-{order['lines'][0]['id']}": "1"},
    )
    assert made.status_code == 409
    cancel = admin.post(f"/dashboard/orders/{order['id']}/cancel", data={"csrf": csrf})
    assert cancel.status_code == 409
    # then nothing was written: the one refund, no return, not canceled
    after = api.client.get(f"/v1/orders/{order['id']}").json()
    assert after["order_status"] == "fully_refunded"
    assert len(api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]) == 1
    assert api.client.get(f"/v1/orders/{order['id']}/returns").json()["data"] == []
