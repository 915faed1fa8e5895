"""Customer Service's list of orders: a refund still processing shows beside the order
(seed 003, step 8), and the status tabs say how many orders each holds."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from refundry.entrypoints.dashboard import order_list
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the other dashboard tests

EN_DASH = "\u2013"  # between the first and last row shown, as typeset


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
    nav = page.split('aria-label="Orders by status and saved view"', 1)[1].split("</nav>", 1)[0]
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
    assert tabs(page) == [("All", "4", True), ("Paid", "3", False), ("Canceled", "1", False)]
    # and the counts follow the search, and a chosen tab keeps it in its links
    page = browser_client.get(
        "/dashboard/orders", params={"query": "ben@example.com", "status": "cancelled"}
    ).text
    assert tabs(page) == [("All", "1", False), ("Paid", "1", False), ("Canceled", "0", True)]
    assert 'href="/dashboard/orders?status=paid&amp;query=ben%40example.com"' in page
    assert "No order matches “ben@example.com” among the canceled orders." in page


def walk(client: TestClient, first_url: str) -> tuple[list[str], list[str], list[str]]:
    """Every page from ``first_url`` by its Next page link: the orders' external ids in
    the order shown, each page's count line, and each Next page link."""
    shown: list[str] = []
    counts: list[str] = []
    links: list[str] = []
    url: str | None = first_url
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200, page.text
        shown += rows(page.text)
        counts += re.findall(r'role="status">([^<]*)</span>', page.text)
        found = re.search(r'<a class="button" href="([^"]+)" rel="next">Next page</a>', page.text)
        url = html.unescape(found.group(1)) if found else None
        links += [url] if url else []
    return shown, counts, links


def test_the_orders_list_pages_by_keyset_with_a_count_and_sorts_by_date_and_total(
    api: Api, browser_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_list, "ORDERS_PER_PAGE", 2)
    # given five orders of different totals, placed one after another, and one of another
    # customer that the search leaves out
    placed = []
    for mugs in (3, 1, 5, 2, 4):
        body = order_body(customer={"email": "ana@example.com"})
        body["lines"] = [{"sku": "MUG", "name": "Mug", "quantity": mugs, "unit_price": 1000}]
        placed.append(api.client.post("/v1/orders", json=body).json())
    api.client.post("/v1/orders", json=order_body(customer={"email": "ben@example.com"}))
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    newest = [
        order["external_id"]
        for order in sorted(placed, key=lambda o: (o["created_at"], o["id"]), reverse=True)
    ]
    by_total = [order["external_id"] for order in sorted(placed, key=lambda o: -o["total"])]
    # then newest first, two a page, each page counted, the search kept in every link
    shown, counts, links = walk(browser_client, "/dashboard/orders?query=ana%40example.com")
    assert shown == newest
    assert counts == [f"{first}{EN_DASH}{last} of 5 orders, newest first" for first, last in
                      ((1, 2), (3, 4), (5, 5))]  # fmt: skip
    assert all("query=ana%40example.com" in link for link in links)
    # and by total, highest first, then lowest first: every order once, in its place
    shown, counts, links = walk(
        browser_client, "/dashboard/orders?query=ana%40example.com&sort=total-desc"
    )
    assert shown == by_total
    assert all("sort=total-desc" in link for link in links)
    shown, _, _ = walk(browser_client, "/dashboard/orders?query=ana%40example.com&sort=total-asc")
    assert shown == by_total[::-1]
    # and oldest first, of one status, with the tab's count
    shown, counts, _ = walk(browser_client, "/dashboard/orders?status=paid&sort=oldest")
    assert shown[:5] == newest[::-1]
    assert counts[0] == f"1{EN_DASH}2 of 6 orders, oldest first"


def test_a_broken_or_mismatched_page_link_is_refused_in_plain_words(
    api: Api, browser_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_list, "ORDERS_PER_PAGE", 1)
    for _ in range(2):
        api.client.post("/v1/orders", json=order_body())
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    _, _, [by_date, *_] = walk(browser_client, "/dashboard/orders")
    cursor = re.search(r"after=([^&]+)", by_date)
    assert cursor is not None
    for url in (
        "/dashboard/orders?after=not-a-cursor",
        f"/dashboard/orders?sort=total-desc&after={cursor.group(1)}",  # a date where a total goes
        "/dashboard/orders?sort=cheapest",
    ):
        refused = browser_client.get(url)
        assert refused.status_code == 422, url
        assert "start again from the first page" in refused.text or "sort of orders" in refused.text
