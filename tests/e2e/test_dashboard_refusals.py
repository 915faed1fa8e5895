"""A refusal is shown on the form that caused it, in plain words and the reader's currency
format, with what was typed kept, and writes nothing (issue 21, item 3). The browser test
(tests/browser/test_refusals.py) checks where the focus goes and axe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from tests.conftest import Api
from tests.e2e.test_dashboard import card_order, csrf_of, gift_order, make_user, sign_in
from tests.e2e.test_returns_api import shipped

ALERT = re.compile(r'<p class="notice error" role="alert"[^>]*data-focus-on-load>([^<]*)</p>')


@pytest.fixture
def admin(api: Api, container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        sign_in(client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
        yield client


def refusal_of(page: str) -> str:
    found = ALERT.findall(page)
    assert len(found) == 1, "one refusal, focused when the page opens"
    return str(found[0])


def no_refunds(api: Api, order: dict[str, Any]) -> bool:
    return api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []


def test_more_than_is_refundable_says_the_most_in_the_readers_currency_format(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    left = api.client.get(f"/v1/orders/{order['id']}").json()["refundable"]
    csrf = csrf_of(admin.get("/dashboard/orders").text)
    typed = {"csrf": csrf, "mode": "edit", "amount": "5000.00", "reason": "Broken lid"}
    refused = admin.post(f"/dashboard/orders/{order['id']}/refund/review", data=typed)
    assert refused.status_code == 409
    assert refusal_of(refused.text) == (
        f"You can refund at most €{left // 100}.{left % 100:02d} on this order."
    )
    # the Edit refund form again, as it was filled in
    assert "<h1>Edit refund</h1>" in refused.text
    assert 'name="amount" inputmode="decimal" value="5000.00"' in refused.text
    assert ">Broken lid</textarea>" in refused.text
    # a German reader reads a German amount
    german = admin.post(
        f"/dashboard/orders/{order['id']}/refund/review",
        data=typed,
        headers={"Accept-Language": "de-DE"},
    )
    assert f"at most {left // 100},{left % 100:02d}\xa0€ on this order" in german.text
    assert no_refunds(api, order)


def test_more_units_than_are_left_names_the_article_and_marks_its_box(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    mug = order["lines"][0]  # 2 mugs
    csrf = csrf_of(admin.get("/dashboard/orders").text)
    refused = admin.post(
        f"/dashboard/orders/{order['id']}/refund/review",
        data={"csrf": csrf, "mode": "edit", f"line-{mug['id']}": "5", "method": "other"},
    )
    assert refused.status_code == 409
    assert refusal_of(refused.text) == "You can refund at most 2 units of Mug, not 5."
    box = re.search(rf'<input id="line-{mug["id"]}"[^>]*>', refused.text)
    assert box
    assert 'value="5"' in box.group(0)
    assert 'aria-invalid="true" aria-describedby="refund-error"' in box.group(0)
    assert 'value="other" checked' in refused.text  # the means chosen is kept too
    assert no_refunds(api, order)


def test_cancelling_a_shipped_order_says_what_to_do_instead_on_its_dialog(
    api: Api, admin: TestClient
) -> None:
    order = shipped(api)
    page = admin.get(f"/dashboard/orders/{order['id']}")
    refused = admin.post(
        f"/dashboard/orders/{order['id']}/cancel",
        data={"csrf": csrf_of(page.text), "reason": "Customer asked"},
    )
    assert refused.status_code == 409
    assert refusal_of(refused.text) == (
        "6 units of this order have shipped, so it can no longer be canceled. Create a "
        "return for them, or refund them with Refund order, instead."
    )
    dialog = '<dialog id="cancel-order" aria-labelledby="cancel-order-title" data-open-on-load>'
    assert dialog in refused.text
    assert ">Customer asked</textarea>" in refused.text
    assert "restock" not in refused.text
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] != "cancelled"


def test_cancelling_an_opened_link_names_it_by_place_and_day_in_the_shops_zone(
    api: Api, admin: TestClient
) -> None:
    assert api.client.patch("/v1/merchant", json={"timezone": "Pacific/Kiritimati"}).is_success
    order = gift_order(api, links=3)
    links = order["lines"][0]["links"]
    page = admin.get(f"/dashboard/orders/{order['id']}")  # before the customer opens it
    assert api.client.get(links[1]["url"]).status_code == 200
    opened = api.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][1]
    refused = admin.post(
        f"/dashboard/orders/{order['id']}/items/{links[1]['id']}/cancel",
        data={"csrf": csrf_of(page.text), "reason": "Sent twice"},
    )
    assert refused.status_code == 409
    # the day in the shop's zone (Kiritimati is UTC+14), written out: no ISO time, no id
    day = datetime.fromisoformat(opened["accessed_at"]).astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert refusal_of(refused.text) == (
        f"Link 2 of 3 was opened by the customer on {day.day} {day:%B %Y}, "
        "so it can no longer be canceled."
    )
    assert f'<dialog id="cancel-item-{links[1]["id"]}" data-open-on-load>' in refused.text
    assert ">Sent twice</textarea>" in refused.text
    # and the page now says the same on the link's menu, not the domain's detail
    assert (
        "Link 2 of 3 was opened by the customer on"
        in admin.get(f"/dashboard/orders/{order['id']}").text
    )


def test_a_refund_reviewed_before_the_order_changed_is_reviewed_again_as_typed(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    csrf = csrf_of(admin.get("/dashboard/orders").text)
    typed = {"csrf": csrf, "mode": "edit", "amount": "3.00", "reason": "Late"}
    review = admin.post(f"/dashboard/orders/{order['id']}/refund/review", data=typed)
    quote = re.search(r'name="quote" value="([^"]+)"', review.text)
    assert quote
    assert api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 100}).is_success
    refused = admin.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={**typed, "quote": quote[1]},
        follow_redirects=False,
    )
    # a redirect to Edit refund (Back and reload then come to pages), the refusal by its
    # code and the form as typed in its query, never the CSRF token
    assert refused.status_code == 303
    location = urlsplit(refused.headers["location"])
    assert location.path == f"/dashboard/orders/{order['id']}/refund/edit"
    carried = parse_qs(location.query)
    assert carried["refused"] == ["quote-stale"]
    assert (carried["amount"], carried["reason"]) == (["3.00"], ["Late"])
    assert "csrf" not in carried
    assert "quote" not in carried
    stale = admin.get(refused.headers["location"])
    assert stale.status_code == 200
    assert refusal_of(stale.text).startswith("The order changed since you reviewed this refund")
    assert 'value="3.00"' in stale.text
    assert ">Late</textarea>" in stale.text
    assert len(api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]) == 1


def test_a_refused_full_refund_goes_back_to_the_first_step_and_words_come_from_the_code(
    api: Api, admin: TestClient
) -> None:
    order = card_order(api)
    csrf = csrf_of(admin.get("/dashboard/orders").text)
    typed = {"csrf": csrf, "mode": "full", "method": "other", "quote": "not-a-quote"}
    refused = admin.post(
        f"/dashboard/orders/{order['id']}/refund", data=typed, follow_redirects=False
    )
    assert refused.status_code == 303
    location = urlsplit(refused.headers["location"])
    assert location.path == f"/dashboard/orders/{order['id']}/refund"
    assert parse_qs(location.query)["refused"] == ["quote-invalid"]
    page = admin.get(refused.headers["location"]).text
    assert refusal_of(page) == "This review cannot be used. Review the refund again."
    assert 'value="other" checked' in page  # the means chosen is kept
    # a code the page does not know says only that no refund was made: a link cannot put
    # words of its own on the page
    made_up = admin.get(
        f"/dashboard/orders/{order['id']}/refund", params={"refused": "<b>Call us</b>"}
    ).text
    assert refusal_of(made_up) == "The refund was not made. Review it again."
    assert "Call us" not in made_up
    assert no_refunds(api, order)
