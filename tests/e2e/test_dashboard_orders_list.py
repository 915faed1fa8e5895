"""Customer Service's list of orders: a refund still processing shows beside the order
(seed 003, step 8), and the status tabs say how many orders each holds."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the other dashboard tests


def rows(page: str) -> dict[str, str]:
    """Each order's row of the list, by its external id."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return {
        match.group(1): row
        for row in body.split("<tr>")[1:]
        if (match := re.search(r'<a href="/dashboard/orders/[^"]+">([^<]+)</a>', row))
    }


def tabs(page: str) -> list[tuple[str, str, bool]]:
    """(label, count, chosen) of each status tab."""
    nav = page.split('aria-label="Orders by status">', 1)[1].split("</nav>", 1)[0]
    return [
        (label.strip(), count, bool(current))
        for current, label, count in re.findall(
            r'<a href="[^"]*"( aria-current="page")?>([^<]*)<span class="count">(\d+)</span>', nav
        )
    ]


def test_a_refund_processing_shows_next_to_its_order_in_the_list(
    api: Api, browser_client: TestClient
) -> None:
    # given a paid order and one with a refund the provider has not completed yet
    plain = api.client.post("/v1/orders", json=order_body()).json()
    refunded = api.client.post("/v1/orders", json=order_body()).json()
    mug = refunded["lines"][0]["id"]
    made = api.client.post(
        f"/v1/orders/{refunded['id']}/refund", json={"lines": [{"line_id": mug, "quantity": 1}]}
    )
    assert made.status_code == 201, made.text
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    # then the list marks the second one only
    listed = rows(browser_client.get("/dashboard/orders").text)
    assert "refund processing" in listed[refunded["external_id"]]
    assert "refund processing" not in listed[plain["external_id"]]


def test_the_status_tabs_count_the_orders_the_search_finds(
    api: Api, browser_client: TestClient
) -> None:
    # given two paid orders of one customer, one of another, and a cancelled one
    for email in ("ana@example.com", "ana@example.com", "ben@example.com"):
        api.client.post("/v1/orders", json=order_body(customer={"email": email}))
    cancelled = api.client.post("/v1/orders", json=order_body()).json()
    assert api.client.post(f"/v1/orders/{cancelled['id']}/cancel", json={}).is_success
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    # then All and each status that has orders are tabs with their counts
    page = browser_client.get("/dashboard/orders").text
    assert tabs(page) == [("All", "4", True), ("Paid", "3", False), ("Cancelled", "1", False)]
    # and the counts follow the search, and a chosen tab keeps it in its links
    page = browser_client.get(
        "/dashboard/orders", params={"query": "ben@example.com", "status": "cancelled"}
    ).text
    assert tabs(page) == [("All", "1", False), ("Paid", "1", False), ("Cancelled", "0", True)]
    assert 'href="/dashboard/orders?status=paid&amp;query=ben%40example.com"' in page
    assert "No order matches “ben@example.com” among the cancelled orders." in page
