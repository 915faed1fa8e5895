"""The order refund's "Refund to" on the server's side (issue 21; issue 19 for store
credit): both steps offer the same choices, naming the way this order was paid; store
credit when there is a customer to credit; different means as seed 002 words it. The
review and the refund's record say where the money goes. The browser test
(tests/browser/test_refund_screen.py) refunds to store credit and reads the balance in
Account History."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import csrf_of, make_user, sign_in
from tests.e2e.test_dashboard_refund_screen import attempt_of, quote_of, refunds_of
from tests.e2e.test_store_credit_api import CUSTOMER, available, ingest

CHOICE = re.compile(
    r'<label><input type="radio" name="method" value="([a-z_]+)" ?(checked)?> ([^<]+)</label>'
)


@pytest.fixture
def admin(api: Api, container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        sign_in(client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
        yield client


def choices(page: str) -> list[tuple[str, bool, str]]:
    """The "Refund to" choices as shown: (value sent, checked, words)."""
    return [
        (value, bool(checked), words.replace("&#39;", "'"))
        for value, checked, words in CHOICE.findall(page)
    ]


def test_both_steps_name_the_cards_and_klarnas_own_way_and_offer_store_credit(
    api: Api, admin: TestClient
) -> None:
    card = ingest(api)
    klarna = ingest(api, payment={"method": "klarna"})
    expected = [
        ("original", True, "the card the customer paid with"),
        ("store_credit", False, "store credit, for the customer to spend at a next checkout"),
        ("other", False, "different means (recorded only: Not requested by administrator)"),
    ]
    for step in ("refund", "refund/edit"):
        assert choices(admin.get(f"/dashboard/orders/{card['id']}/{step}").text) == expected
        shown = choices(admin.get(f"/dashboard/orders/{klarna['id']}/{step}").text)
        assert shown[0] == ("original", True, "the customer's Klarna account")
    # the choice made on the first step is the one checked on Edit refund
    edit = admin.get(
        f"/dashboard/orders/{card['id']}/refund/edit",
        params={"mode": "full", "method": "store_credit"},
    ).text
    assert [value for value, checked, _ in choices(edit) if checked] == ["store_credit"]


def test_a_float_order_is_refunded_to_the_float_or_by_different_means_never_store_credit(
    api: Api, admin: TestClient
) -> None:
    assert api.client.put("/v1/float", json={"currency": "EUR"}).is_success
    assert api.client.post("/v1/float/top-ups", json={"amount": 100_000}).status_code == 201
    made = api.client.post("/v1/orders", json=order_body(payment={"method": "float"}))
    assert made.status_code == 201, made.text
    order = made.json()
    page = admin.get(f"/dashboard/orders/{order['id']}/refund").text
    assert [value for value, _, _ in choices(page)] == ["original", "other"]
    assert "your float, at the end of the invoice cycle" in page
    # store credit asked by hand is refused in words, on the form, and nothing is written
    review = admin.get(
        f"/dashboard/orders/{order['id']}/refund/review",
        params={"mode": "full", "method": "store_credit"},
    )
    assert review.status_code == 422
    assert "cannot be refunded to store credit" in review.text
    assert refunds_of(api, order) == []


def test_a_refund_to_store_credit_is_reviewed_as_such_credited_and_recorded_so(
    api: Api, admin: TestClient
) -> None:
    order = ingest(api)
    before = available(api)
    first = admin.get(f"/dashboard/orders/{order['id']}/refund").text
    typed = {
        "mode": "edit",
        "amount": "10.00",
        "method": "store_credit",
        "attempt": attempt_of(first),
    }
    review = admin.get(f"/dashboard/orders/{order['id']}/refund/review", params=typed).text
    assert re.search(r'<p id="refund-to">To: the customer&#39;s store credit<', review)
    made = admin.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={**typed, "csrf": csrf_of(review), "quote": quote_of(review)},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"].endswith("?done=refund-completed")  # credited at once
    [refund] = refunds_of(api, order)
    assert (refund["method"], refund["amount"], refund["status"]) == (
        "store_credit",
        1000,
        "completed",
    )
    assert available(api) == before + 1000
    # the order's refunds say where the money went; Account History too
    page = admin.get(f"/dashboard/orders/{order['id']}").text
    assert '<td class="hide-narrow">The customer&#39;s store credit</td>' in page
    history = admin.get("/dashboard/customers/ana@example.com").text
    assert "Refund €10.00 to the customer&#39;s store credit" in history


def test_an_order_store_credit_paid_part_of_says_that_part_comes_back_as_store_credit(
    api: Api, admin: TestClient
) -> None:
    granted = api.client.post(
        f"/v1/customers/{CUSTOMER}/store-credit/adjustments",
        json={"currency": "EUR", "amount": 2000, "note": "goodwill"},
    )
    assert granted.status_code == 201, granted.text
    order: dict[str, Any] = ingest(
        api, payment={"method": "card", "store_credit": {"amount": 2000}}
    )
    typed = {"mode": "edit", "amount": "30.00", "method": "original"}
    review = admin.get(f"/dashboard/orders/{order['id']}/refund/review", params=typed).text
    assert re.search(
        r"To: the card the customer paid with · €20\.00 of it as store credit, which paid part "
        r"of the order<",
        review,
    )
