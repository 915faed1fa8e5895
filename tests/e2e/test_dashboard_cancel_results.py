"""Cancel results read as what they are (issue 21, item 5): a gift-card link's credit
that only the invoice close settles is "credit due", not a refund processing that the
page polls for weeks; cancelled units count as Cancelled whatever money they moved; a
cancelled order's badge says cancelled, with the money's state beside it."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the dashboard's other tests

POLLING = 'hx-trigger="every 5s"'


def heading(page: str) -> str:
    found = re.search(r"<h1.*?</h1>", page, re.S)
    assert found
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).strip()


def items(page: str) -> dict[str, tuple[int, int]]:
    """The Items table: each item's (Refunded, Cancelled) units."""
    section = page[page.index("<h2>Items</h2>") : page.index("</table>", page.index("<h2>Items"))]
    last_two_numbers = r'<td class="num[^"]*">(\d+)</td>\s*<td class="num[^"]*">(\d+)</td>\s*</tr>'
    found = re.findall(r"<td>([^<]+?) <span.*?" + last_two_numbers, section, re.S)
    return {name: (int(refunded), int(cancelled)) for name, refunded, cancelled in found}


def order_page(client: TestClient, order: dict[str, Any]) -> str:
    answer = client.get(f"/dashboard/orders/{order['id']}")
    assert answer.status_code == 200
    return answer.text


def test_a_float_link_cancel_reads_as_a_credit_due_at_the_invoice_close(
    api: Api, browser_client: TestClient
) -> None:
    assert api.client.put("/v1/float", json={"currency": "EUR"}).is_success
    assert api.client.post("/v1/float/top-ups", json={"amount": 100_000}).status_code == 201
    body = {
        "currency": "EUR",
        "customer": {"email": "hr@acme.example"},
        "lines": [
            {"sku": "GIFT-25", "name": "Gift card", "quantity": 2, "unit_price": 2500,
             "kind": "gift_card_link"}
        ],
        "payment": {"method": "float"},
    }  # fmt: skip
    order = api.client.post("/v1/orders", json=body).json()
    link = order["lines"][0]["links"][0]["id"]
    cancelled = api.client.post(f"/v1/orders/{order['id']}/items/{link}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    page = order_page(browser_client, order)
    assert heading(page).endswith("partly canceled credit due at invoice close")
    refunds = page[page.index('<section id="refunds"') : page.index("<h2>Timeline</h2>")]
    assert "Credit due at invoice close" in refunds
    assert "Started" not in refunds
    assert "refund processing" not in page
    assert POLLING not in page  # only the invoice close settles it: nothing to follow
    listed = browser_client.get("/dashboard/orders").text
    row = listed[listed.index(f"/dashboard/orders/{order['id']}") :].split("</tr>")[0]
    assert "credit due at invoice close" in row
    assert "refund processing" not in row


def test_cancelled_units_count_as_cancelled_on_a_card_order_and_a_held_klarna_one(
    api: Api, browser_client: TestClient
) -> None:
    card = api.client.post("/v1/orders", json=order_body()).json()
    held = api.client.post(
        "/v1/orders", json=order_body(payment={"method": "klarna", "capture": "manual"})
    ).json()
    for order in (card, held):
        assert api.client.post(f"/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    expected = {"Mug": (0, 2), "Teapot": (0, 1), "Tea": (0, 3)}
    assert items(order_page(browser_client, card)) == expected  # money came back
    assert items(order_page(browser_client, held)) == expected  # the hold was released
    # a refund of an unshipped unit that is not a cancel stays a refund
    refunded = api.client.post("/v1/orders", json=order_body()).json()
    mug = refunded["lines"][0]["id"]
    made = api.client.post(
        f"/v1/orders/{refunded['id']}/refund", json={"lines": [{"line_id": mug, "quantity": 1}]}
    )
    assert made.status_code == 201, made.text
    assert items(order_page(browser_client, refunded))["Mug"] == (1, 0)


def test_a_cancelled_and_refunded_order_says_cancelled_and_then_refunded(
    api: Api, browser_client: TestClient
) -> None:
    assert api.client.patch("/v1/merchant", json={"cancel_labels": ["Refused"]}).is_success
    order = api.client.post("/v1/orders", json=order_body()).json()
    cancel = api.client.post(f"/v1/orders/{order['id']}/cancel", json={"status": "Refused"})
    assert cancel.status_code == 200, cancel.text
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    title = f"Order {order['external_id']}"
    assert heading(order_page(browser_client, order)) == (
        f"{title} canceled · Refused refund processing"
    )
    api.settle()  # the provider completes the cancellation's refund
    page = order_page(browser_client, order)
    assert heading(page) == f"{title} canceled · Refused refunded"
    listed = browser_client.get("/dashboard/orders").text
    row = listed[listed.index(f"/dashboard/orders/{order['id']}") :].split("</tr>")[0]
    assert "canceled · Refused" in row
