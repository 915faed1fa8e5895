"""Saved views through the dashboard, on SQLite and PostgreSQL: Save view keeps only the
choices the list understands and opens the new tab; a refusal is said on the dialog with
the name as typed; another member's views are never shown, and deleting one is a 404."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from refundry.domain.staff import Role
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, csrf_of, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the other dashboard tests


def tabs(page: str, listing: str = "Orders") -> list[tuple[str, str, bool]]:
    """(label with its count, link, chosen) of every tab of the list, saved views too."""
    nav = page.split(f'aria-label="{listing} by status and saved view"', 1)[1]
    nav = nav.split("</nav>", 1)[0]
    return [
        (
            html.unescape(" ".join(re.sub("<[^>]+>", " ", label).split())),
            html.unescape(link),
            bool(chosen),
        )
        for link, chosen, label in re.findall(
            r'<a href="([^"]*)"( aria-current="page")?>(.*?)</a>', nav, re.S
        )
    ]


@pytest.fixture
def signed_in(api: Api, browser_client: TestClient) -> TestClient:
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    return browser_client


@pytest.fixture
def colleague(api: Api) -> Iterator[TestClient]:
    """Another member of the same shop, in a browser of their own."""
    with TestClient(create_app(api.container), raise_server_exceptions=False) as client:
        sign_in(client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
        yield client


def save(client: TestClient, path: str = "/dashboard/orders", **fields: str) -> object:
    csrf = csrf_of(client.get(path).text)
    return client.post("/dashboard/views", data={"csrf": csrf, **fields}, follow_redirects=False)


def test_a_saved_view_keeps_only_the_lists_choices_and_is_a_tab_with_its_count(
    api: Api, signed_in: TestClient
) -> None:
    # given three paid orders, two of them Ana's
    for email in ("ana@example.com", "ana@example.com", "bo@example.com"):
        made = api.client.post("/v1/orders", json=order_body(customer={"email": email}))
        assert made.status_code == 201, made.text
    # when a member saves Ana's orders, the form carrying a page cursor and a URL besides
    saved = save(
        signed_in, listing="orders", name="Ana's orders", query="ana@example.com",
        sort="newest", after="c2Vj", page="3", next="https://evil.example/",
    )  # fmt: skip
    # then the new tab opens on the choices the list understands, rebuilt, nothing else
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/dashboard/orders?query=ana%40example.com"
    save(signed_in, listing="orders", name="Paid, biggest", status="paid", sort="total-desc")
    # on All, the view without a search of its own has its count; Ana's would cost a count more
    assert tabs(signed_in.get("/dashboard/orders").text) == [
        ("All 3", "/dashboard/orders", True),
        ("Paid 3", "/dashboard/orders?status=paid", False),
        ("Ana's orders", "/dashboard/orders?query=ana%40example.com", False),
        ("Paid, biggest 3", "/dashboard/orders?status=paid&sort=total-desc", False),
    ]
    # and on Ana's view, its tab is the chosen one, with the count its search gives
    page = signed_in.get("/dashboard/orders?query=ana%40example.com").text
    assert [tab for tab in tabs(page) if tab[2]] == [
        ("Ana's orders 2", "/dashboard/orders?query=ana%40example.com", True)
    ]
    assert "Delete view" in page
    assert "Save view" not in page


def test_a_refused_save_says_why_on_the_dialog_with_the_name_as_typed(
    signed_in: TestClient,
) -> None:
    save(signed_in, listing="orders", name="Big ones", sort="total-desc")
    cases = [
        ("   ", 422, "Give the view a name: it is the label of its tab."),
        ("<b>" + "x" * 38, 422, "at most 40 characters; this one has 41. Shorten it."),
        ("big ONES", 409, "You already have a view named “Big ones”. Choose another name."),
    ]
    for name, status, words in cases:
        refused = save(signed_in, listing="orders", name=name, status="paid")
        assert refused.status_code == status, refused.text
        page = refused.text
        assert words in html.unescape(page)
        dialog = page.split('<dialog id="save-view"', 1)[1].split("</dialog>", 1)[0]
        assert "data-open-on-load" in dialog.split(">", 1)[0]
        assert f'value="{html.escape(name)}"' in dialog  # as typed, and escaped
        assert '<input type="hidden" name="status" value="paid">' in dialog  # still the choices
    the_same = save(signed_in, listing="orders", name="Again", sort="total-desc")
    assert the_same.status_code == 409
    assert "These filters are saved already, as your view “Big ones”." in html.unescape(
        the_same.text
    )
    assert [tab[0] for tab in tabs(signed_in.get("/dashboard/orders").text)] == [
        "All 0",
        "Big ones 0",
    ]


def test_a_choice_the_list_does_not_know_is_refused_and_nothing_is_kept(
    signed_in: TestClient,
) -> None:
    for fields in ({"status": "open"}, {"sort": "/dashboard/logout"}, {"listing": "team"}):
        refused = save(signed_in, **{"listing": "orders", "name": "Odd", **fields})
        assert refused.status_code == 422, refused.text
    assert [tab[0] for tab in tabs(signed_in.get("/dashboard/orders").text)] == ["All 0"]


def test_another_members_views_are_never_shown_and_their_delete_is_a_404(
    api: Api, signed_in: TestClient, colleague: TestClient
) -> None:
    save(signed_in, listing="orders", name="Mine", status="paid")
    page = signed_in.get("/dashboard/orders?status=paid").text
    [view_id] = re.findall(r'action="/dashboard/views/([0-9a-f-]+)/delete"', page)
    # the colleague sees no tab of it, and deleting it by hand finds nothing
    assert [tab[0] for tab in tabs(colleague.get("/dashboard/orders").text)] == ["All 0"]
    csrf = csrf_of(colleague.get("/dashboard/orders").text)
    gone = colleague.post(f"/dashboard/views/{view_id}/delete", data={"csrf": csrf})
    assert gone.status_code == 404
    assert "You have no such saved view" in html.unescape(gone.text)
    # nor does a member of another shop
    other = transactions.run(api.container.uow_factory, lambda uow: create_merchant(uow, "Else"))
    with TestClient(create_app(api.container), raise_server_exceptions=False) as stranger:
        sign_in(stranger, make_user(api.container, other.merchant.id, Role.ADMIN))
        csrf = csrf_of(stranger.get("/dashboard/orders").text)
        assert (
            stranger.post(f"/dashboard/views/{view_id}/delete", data={"csrf": csrf}).status_code
            == 404
        )
        assert (
            stranger.post(
                f"/dashboard/views/{uuid.uuid4()}/delete", data={"csrf": csrf}
            ).status_code
            == 404
        )
    # the owner still has it, and deletes it: the list opens on All
    deleted = signed_in.post(
        f"/dashboard/views/{view_id}/delete",
        data={"csrf": csrf_of(page)},
        follow_redirects=False,
    )
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/dashboard/orders")
    assert [tab[0] for tab in tabs(signed_in.get("/dashboard/orders").text)] == ["All 0"]


def test_without_the_csrf_token_nothing_is_saved_or_deleted(signed_in: TestClient) -> None:
    save(signed_in, listing="orders", name="Mine", status="paid")
    page = signed_in.get("/dashboard/orders?status=paid").text
    [view_id] = re.findall(r'action="/dashboard/views/([0-9a-f-]+)/delete"', page)
    for token in ({}, {"csrf": "forged"}):
        forged = {"listing": "orders", "name": "Forged", "sort": "oldest", **token}
        for path, data in (
            ("/dashboard/views", forged),
            (f"/dashboard/views/{view_id}/delete", token),
        ):
            refused = signed_in.post(path, data=data)
            assert refused.status_code == 422, path
            assert "The form is out of date or was not sent by this site" in refused.text
    assert [tab[0] for tab in tabs(signed_in.get("/dashboard/orders").text)] == ["All 0", "Mine 0"]


def test_the_returns_list_has_saved_views_of_its_own(signed_in: TestClient) -> None:
    saved = save(
        signed_in, "/dashboard/returns", listing="returns", name="Cancelled orders",
        status="cancellations", query=" ana@example.com ",
    )  # fmt: skip
    assert (
        saved.headers["location"]
        == "/dashboard/returns?status=cancellations&query=ana%40example.com"
    )
    page = signed_in.get(saved.headers["location"]).text
    assert [tab for tab in tabs(page, "Returns") if tab[2]] == [
        (
            "Cancelled orders",
            "/dashboard/returns?status=cancellations&query=ana%40example.com",
            True,
        )
    ]
    assert [tab[0] for tab in tabs(signed_in.get("/dashboard/orders").text)] == ["All 0"]
    [view_id] = re.findall(r'action="/dashboard/views/([0-9a-f-]+)/delete"', page)
    deleted = signed_in.post(
        f"/dashboard/views/{view_id}/delete", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert deleted.headers["location"] == "/dashboard/returns"
    assert "Cancelled orders" not in signed_in.get("/dashboard/returns").text


def test_a_returns_view_keeps_its_sort(signed_in: TestClient) -> None:
    saved = save(
        signed_in, "/dashboard/returns?sort=amount-desc", listing="returns",
        name="Biggest refunds", status="cancellations", sort="amount-desc",
    )  # fmt: skip
    assert saved.headers["location"] == "/dashboard/returns?status=cancellations&sort=amount-desc"
    page = signed_in.get(saved.headers["location"]).text
    assert [tab for tab in tabs(page, "Returns") if tab[2]] == [
        ("Biggest refunds", "/dashboard/returns?status=cancellations&sort=amount-desc", True)
    ]
    assert '<option value="amount-desc" selected>' in page
    # the default sort is not a choice of its own: a view of it is a view of All
    plain = save(signed_in, "/dashboard/returns", listing="returns", name="All", sort="newest")
    assert plain.headers["location"] == "/dashboard/returns"
