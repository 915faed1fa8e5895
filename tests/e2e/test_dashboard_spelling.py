"""One spelling for what a person reads in the dashboard (issue 21): "canceled", as seed 001
names the status after a cancel ("by default, Canceled") and Shopify's admin writes it. The
API's values (``cancelled``) stay; the pages never show the British spelling, not even in
a reason Refundry wrote itself ("Order cancelled via API")."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, csrf_of, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests

BRITISH = re.compile(r"\bcancell(?:ed|ing)\b", re.IGNORECASE)
US = re.compile(r"\bcancel(?:ed|ing)\b", re.IGNORECASE)
# Attributes a person reads (a tooltip, what a screen reader says); a value sent with a
# form (<option value="cancelled">) or a CSS class is the API's word and not read.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}


class VisibleText(HTMLParser):
    """A page's text as a person meets it: no script, style or <code> (an API name shown
    as such, like a webhook event type), no attribute but the read ones."""

    HIDDEN = {"script", "style", "code", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        self.parts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def british_words(client: TestClient, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    text = visible_text(page.text)
    return [text[max(0, m.start() - 40) : m.end() + 20] for m in BRITISH.finditer(text)]


def test_the_dashboard_writes_canceled_on_every_page_that_shows_a_cancel(
    api: Api, browser_client: TestClient
) -> None:
    email = f"spelling-{api.merchant.merchant.id.hex[:6]}@example.com"
    customer = {"email": email}
    # given an order canceled through the API with no reason (Refundry writes one)...
    by_api = api.client.post("/v1/orders", json=order_body(customer=customer)).json()
    assert api.client.post(f"/v1/orders/{by_api['id']}/cancel", json={}).status_code == 200
    # ...one canceled in the dashboard with no reason, a held one canceled with a label...
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    here = api.client.post("/v1/orders", json=order_body(customer=customer)).json()
    page = browser_client.get(f"/dashboard/orders/{here['id']}")
    done = browser_client.post(
        f"/dashboard/orders/{here['id']}/cancel", data={"csrf": csrf_of(page.text)}
    )
    assert "The order is canceled." in done.text
    # ...a float order with one gift-card link of two canceled, and a return canceled
    assert api.client.put("/v1/float", json={"currency": "EUR"}).is_success
    assert api.client.post("/v1/float/top-ups", json={"amount": 100_000}).status_code == 201
    links = api.client.post("/v1/orders", json=_float_links(customer)).json()
    link = links["lines"][0]["links"][0]["id"]
    assert api.client.post(f"/v1/orders/{links['id']}/items/{link}/cancel", json={}).is_success
    shipped = api.client.post("/v1/orders", json=order_body(customer=customer)).json()
    assert api.client.post(f"/v1/orders/{shipped['id']}/fulfil").status_code == 200
    mug = shipped["lines"][0]["id"]
    made = api.client.post(
        f"/v1/orders/{shipped['id']}/returns", json={"lines": [{"line_id": mug, "quantity": 1}]}
    ).json()
    assert api.client.post(f"/v1/returns/{made['id']}/cancel", json={}).status_code == 200
    pages = [
        *(f"/dashboard/orders/{order['id']}" for order in (by_api, here, links, shipped)),
        "/dashboard/orders",
        "/dashboard/orders?status=cancelled",
        "/dashboard/returns",
        "/dashboard/returns?status=cancellations",
        "/dashboard/returns?status=cancelled",
        f"/dashboard/returns/{made['id']}",
        f"/dashboard/customers/{email}",
        "/dashboard/reports",
        "/dashboard/reports/summary",
        "/dashboard/reports/items",
        "/dashboard/reports/reasons",
        "/dashboard/reports/refunds",
        "/dashboard/float",
    ]
    # when a person reads each page, then no word is spelled the other way
    found = {path: words for path in pages if (words := british_words(browser_client, path))}
    assert found == {}
    # and the pages do speak of cancels, in the dashboard's spelling (the check saw them)
    order_text = visible_text(browser_client.get(f"/dashboard/orders/{by_api['id']}").text)
    assert "Order canceled via API" in order_text  # Refundry's own reason, respelled
    assert "Order canceled" in order_text  # the timeline
    canceled_returns = browser_client.get("/dashboard/returns?status=cancelled").text
    assert "Canceled" in visible_text(canceled_returns)
    history = visible_text(browser_client.get(f"/dashboard/customers/{email}").text)
    assert US.search(history)


def _float_links(customer: dict[str, str]) -> dict[str, Any]:
    return {
        "currency": "EUR",
        "customer": customer,
        "lines": [
            {"sku": "GIFT-25", "name": "Gift card", "quantity": 2, "unit_price": 2500,
             "kind": "gift_card_link"}
        ],
        "payment": {"method": "float"},
    }  # fmt: skip
