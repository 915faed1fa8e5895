"""Sales > Returns and Users, like Customer Service's orders (issue 21): keyset pages whose
footer counts everything the list shows ("3-4 of 5 records", typeset with an en dash),
counts on Returns' status tabs, and the search kept in every page's link."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime
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


def test_the_returns_list_pages_through_every_sort_over_returns_and_cancellations(
    api: Api, browser_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(return_pages, "PAGE_SIZE", 2)
    # given a refunded return, two returns not refunded (amount 0: a tie), two cancellations
    # of the same total (a tie) and one of a smaller order: one keyset over both tables
    ana = shipped(api)
    refunded = create_return(api, ana, lines=[{"line_id": ana["lines"][1]["id"], "quantity": 1}])
    received = api.client.post(
        f"/v1/returns/{refunded['id']}/receive",
        json={"lines": [{"line_id": ana["lines"][1]["id"], "resellable": 1}]},
    )
    assert received.status_code == 200, received.text
    done = api.client.post(f"/v1/returns/{refunded['id']}/refund", json={"destination": "original"})
    assert done.status_code == 201, done.text
    for line in ana["lines"][0], ana["lines"][2]:
        create_return(api, ana, lines=[{"line_id": line["id"], "quantity": 1}])
    cancelled(api, "ana@example.com")
    small = order_body(customer={"email": "cai@example.com"})
    small["lines"] = [{"sku": "MUG", "name": "Mug", "quantity": 1, "unit_price": 990, "tax": 0}]
    order = api.client.post("/v1/orders", json=small).json()
    assert api.client.post(f"/v1/orders/{order['id']}/cancel", json={}).is_success
    cancelled(api, "ben@example.com")
    records = api.client.get("/v1/returns").json()["data"]
    assert len(records) == 6
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))

    def link(record: dict[str, Any]) -> str:
        kind = "returns" if record["kind"] == "return" else "orders"
        return f"/dashboard/{kind}/{record['id' if kind == 'returns' else 'order_id']}"

    def amount(record: dict[str, Any]) -> int:
        found: int = record.get("refunded") or 0 if record["kind"] == "return" else record["amount"]
        return found

    def at(record: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(record["created_at"])

    sorts = {
        "newest": (at, True),
        "oldest": (at, False),
        "amount-desc": (amount, True),
        "amount-asc": (amount, False),
    }
    amounts = sorted(amount(record) for record in records)
    assert amounts[:2] == [0, 0]  # ties, broken by id
    assert amounts[4] == amounts[5]
    assert len(set(amounts)) == 4
    for sort, (value, descending) in sorts.items():
        expected = sorted(
            records,
            key=lambda record: (value(record), uuid.UUID(record["id"])),
            reverse=descending,
        )
        # then every record once, in the sort's order, ties by id, the sort kept in every
        # link; the footer says the sort
        shown, counts, links = walk(browser_client, f"/dashboard/returns?sort={sort}")
        assert shown == [link(record) for record in expected], sort
        label = return_pages.SORTS[return_pages.ReturnSort(sort)].lower()
        assert counts == [f"{line}, {label}" for line in pages(6, 2, "records")]
        assert len(links) == 2
        if sort != "newest":  # the default is left out of the links
            assert all(f"sort={sort}" in link for link in links)
            page = browser_client.get(links[0]).text
            assert f'<option value="{sort}" selected>' in page
            assert f'href="/dashboard/returns?status=cancellations&amp;sort={sort}"' in page
    # and the API's list is today's: newest first
    assert records == sorted(
        records, key=lambda record: (at(record), uuid.UUID(record["id"])), reverse=True
    )
    broken = browser_client.get("/dashboard/returns", params={"sort": "amount-asc", "after": "x"})
    assert broken.status_code == 422
    assert browser_client.get("/dashboard/returns", params={"sort": "units"}).status_code == 422


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
