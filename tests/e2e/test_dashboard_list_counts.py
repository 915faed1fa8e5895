"""Sales > Returns and Users, like Customer Service's orders (issue 21): keyset pages whose
footer counts everything the list shows ("3-4 of 5 records", typeset with an en dash),
counts on Returns' status tabs, and the search kept in every page's link."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from refundry.entrypoints.dashboard import customers as customer_pages
from refundry.entrypoints.dashboard import returns as return_pages
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, make_user, sign_in
from tests.e2e.test_returns_api import create_return, shipped

__all__ = ["browser_client"]  # the fixture, shared with the other dashboard tests

EN_DASH = "\u2013"  # between the first and last row shown, as typeset


def walk(client: TestClient, first_url: str) -> tuple[list[str], list[str], list[str]]:
    """Every page from ``first_url`` by its Next page link: each row's first link, in the
    order shown, each page's count line, and each Next page link."""
    shown: list[str] = []
    counts: list[str] = []
    links: list[str] = []
    url: str | None = first_url
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        shown += [
            found.group(1)
            for row in body.split("<tr>")[1:]
            if (found := re.search(r'href="([^"]+)"', row))
        ]
        counts += re.findall(r'role="status">([^<]*)</span>', page.text)
        found = re.search(r'<a class="button" href="([^"]+)" rel="next">Next page</a>', page.text)
        url = html.unescape(found.group(1)) if found else None
        links += [url] if url else []
    return shown, counts, links


def tabs(page: str) -> dict[str, str]:
    """Each status tab of Returns with a count, by its label."""
    nav = page.split('aria-label="Returns by status and saved view"', 1)[1].split("</nav>", 1)[0]
    found = re.findall(r'<a href="[^"]*"[^>]*>([^<]*)<span class="count">(\d+)</span>', nav)
    return {label.strip(): count for label, count in found}


def pages(total: int, per_page: int, noun: str) -> list[str]:
    """The count lines of a list of ``total`` shown ``per_page`` at a time."""
    return [
        f"{first}{EN_DASH}{min(first + per_page - 1, total)} of {total} {noun}"
        for first in range(1, total + 1, per_page)
    ]


def cancelled(api: Api, email: str) -> dict[str, Any]:
    order: dict[str, Any] = api.client.post(
        "/v1/orders", json=order_body(customer={"email": email})
    ).json()
    answer = api.client.post(f"/v1/orders/{order['id']}/cancel", json={})
    assert answer.is_success, answer.text
    return order


def test_the_returns_list_counts_its_records_and_its_tabs_and_pages_through_them(
    api: Api, browser_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(return_pages, "PAGE_SIZE", 2)
    # given Ana's shipped order with two open returns and a requested one, two of her
    # orders canceled (each with its cancellation refund), and Ben's return and cancel
    ana = shipped(api, customer={"email": "ana@example.com"})
    mug, pot = ana["lines"][0], ana["lines"][1]
    for line in (mug, mug):
        create_return(api, ana, lines=[{"line_id": line["id"], "quantity": 1}])
    create_return(api, ana, lines=[{"line_id": pot["id"], "quantity": 1}], requested=True)
    ana_cancels = [cancelled(api, "ana@example.com")["id"] for _ in range(2)]
    ben = shipped(api, customer={"email": "ben@example.com"})
    create_return(api, ben, lines=[{"line_id": ben["lines"][0]["id"], "quantity": 1}])
    cancelled(api, "ben@example.com")
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    # then Ana's five records, two a page, newest first, every one once, each page counted
    # and the search kept in every link
    search = "/dashboard/returns?query=ana%40example.com"
    shown, counts, links = walk(browser_client, search)
    assert len(shown) == 5 == len(set(shown))
    assert shown[:2] == [f"/dashboard/orders/{order_id}" for order_id in ana_cancels[::-1]]
    assert counts == [f"{line}, newest first" for line in pages(5, 2, "records")]
    assert len(links) == 2
    assert all("query=ana%40example.com" in link for link in links)
    # and the tabs count what the search finds in each; a status it finds none of has no
    # tab unless it is the one chosen
    counted = tabs(browser_client.get(search).text)
    assert counted == {"All": "5", "Requested": "1", "Open": "2", "Cancellations": "2"}
    assert tabs(browser_client.get(f"{search}&status=received").text)["Received"] == "0"
    # and a tab's pages keep the tab: the cancellations, then the open returns
    shown, counts, links = walk(browser_client, f"{search}&status=cancellations")
    assert shown == [f"/dashboard/orders/{order_id}" for order_id in ana_cancels[::-1]]
    assert counts == [f"1{EN_DASH}2 of 2 records, newest first"]
    shown, counts, _ = walk(browser_client, "/dashboard/returns?status=open")
    assert len(set(shown)) == 3
    assert counts == [f"{line}, newest first" for line in pages(3, 2, "records")]
    # and without a search, every record of the merchant
    _, counts, _ = walk(browser_client, "/dashboard/returns")
    assert counts[0] == f"1{EN_DASH}2 of 7 records, newest first"
    broken = browser_client.get("/dashboard/returns", params={"after": "not a cursor"})
    assert broken.status_code == 422
    assert "That page link is broken" in broken.text


def test_the_users_list_pages_by_latest_order_with_a_count_and_keeps_the_search(
    api: Api, browser_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_pages, "CUSTOMERS_PER_PAGE", 2)
    # given five customers at example.com, one of them with two orders, and one elsewhere
    last_order: dict[str, str] = {}
    for name in ("cai", "dee", "ana", "eve", "ben", "cai", "zed"):
        email = f"{name}@example.com" if name != "zed" else "zed@other.test"
        order = api.client.post("/v1/orders", json=order_body(customer={"email": email})).json()
        last_order[email] = max(last_order.get(email, ""), order["created_at"])
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    found = sorted(email for email in last_order if email.endswith("example.com"))
    latest_first = sorted(found, key=lambda email: last_order[email], reverse=True)
    # then the latest orderer first, two a page, each page counted, the search in every link
    shown, counts, links = walk(browser_client, "/dashboard/customers?query=EXAMPLE.com")
    assert shown == [f"/dashboard/customers/{email.replace('@', '%40')}" for email in latest_first]
    assert counts == [f"{line}, latest order first" for line in pages(5, 2, "customers")]
    assert all("query=EXAMPLE.com" in link for link in links)
    # and without a search, all six; a search that finds none says so
    _, counts, _ = walk(browser_client, "/dashboard/customers")
    assert counts[0] == f"1{EN_DASH}2 of 6 customers, latest order first"
    page = browser_client.get("/dashboard/customers", params={"query": "nobody"}).text
    assert "No customer matches “nobody”." in page
    assert re.findall(r'role="status">([^<]*)</span>', page) == ["0 customers, latest order first"]
    broken = browser_client.get("/dashboard/customers", params={"after": "not a cursor"})
    assert broken.status_code == 422
    assert "That page link is broken" in broken.text
