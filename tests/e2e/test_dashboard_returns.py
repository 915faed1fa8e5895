"""Returns in the dashboard, on the server's side: every action needs a session, this
page's CSRF token and the refund permission; another merchant's return is not found; a
staff member's refund limit holds for a return's refund; a refusal writes nothing. The
browser tests (tests/browser/test_returns.py) walk the pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import Container
from refundry.domain.money import Currency, Money
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import staff
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import Api
from tests.e2e.test_dashboard import PASSWORD, csrf_of, make_user, sign_in
from tests.e2e.test_returns_api import create_return, shipped


@pytest.fixture
def browser_client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


def received_return(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A shipped order and an open return of its 2 mugs, both received resellable."""
    order = shipped(api)
    mug = order["lines"][0]
    made = create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 2}])
    answer = api.client.post(
        f"/v1/returns/{made['id']}/receive",
        json={"lines": [{"line_id": mug["id"], "resellable": 2}]},
    )
    assert answer.status_code == 200, answer.text
    return order, made


def status_of(api: Api, return_id: str) -> str:
    status: str = api.client.get(f"/v1/returns/{return_id}").json()["status"]
    return status


def test_staff_without_the_refund_permission_see_returns_but_cannot_act(
    api: Api, browser_client: TestClient
) -> None:
    order = shipped(api)
    mug = order["lines"][0]
    made = create_return(api, order, lines=[{"line_id": mug["id"], "quantity": 1}], requested=True)
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.REPORTS)
    sign_in(browser_client, email)
    listed = browser_client.get("/dashboard/returns")
    assert made["id"][:8] in listed.text
    page = browser_client.get(f"/dashboard/returns/{made['id']}")
    assert "You need the refund permission" in page.text
    assert "Approve return" not in page.text
    order_page = browser_client.get(f"/dashboard/orders/{order['id']}")
    # the order's menu shows Create return disabled, saying why; nothing links to it
    assert "You need the refund permission to create returns." in order_page.text
    assert f'href="/dashboard/orders/{order["id"]}/returns/new"' not in order_page.text
    csrf = csrf_of(page.text)  # the sign-out form's: a valid token for this session
    for path, data in (
        (f"/dashboard/returns/{made['id']}/approve", {}),
        (f"/dashboard/returns/{made['id']}/decline", {"reason": "no"}),
        (f"/dashboard/returns/{made['id']}/refund/review", {"destination": "original"}),
        (f"/dashboard/orders/{order['id']}/returns", {f"quantity-{mug['id']}": "1"}),
    ):
        refused = browser_client.post(path, data={"csrf": csrf, **data})
        assert refused.status_code == 403, path
        assert "refund permission" in refused.text
    assert browser_client.get(f"/dashboard/orders/{order['id']}/returns/new").status_code == 403
    assert status_of(api, made["id"]) == "requested"
    assert len(api.client.get(f"/v1/orders/{order['id']}/returns").json()["data"]) == 1


def test_a_return_action_without_its_csrf_token_is_refused_and_changes_nothing(
    api: Api, browser_client: TestClient
) -> None:
    order = shipped(api)
    made = create_return(
        api, order, lines=[{"line_id": order["lines"][0]["id"], "quantity": 1}], requested=True
    )
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    for data in ({}, {"csrf": "forged"}):
        refused = browser_client.post(f"/dashboard/returns/{made['id']}/approve", data=data)
        assert refused.status_code == 422
        assert "reload it" in refused.text
    assert status_of(api, made["id"]) == "requested"


def test_another_merchants_return_is_not_found(api: Api, browser_client: TestClient) -> None:
    order, made = received_return(api)
    other: NewMerchant = transactions.run(
        api.container.uow_factory, lambda uow: create_merchant(uow, "Other")
    )
    stranger = make_user(api.container, other.merchant.id, Role.ADMIN)
    sign_in(browser_client, stranger)
    assert browser_client.get(f"/dashboard/returns/{made['id']}").status_code == 404
    listed = browser_client.get("/dashboard/returns", params={"query": made["id"]})
    assert f"/dashboard/returns/{made['id']}" not in listed.text
    assert "No return or cancellation matches" in listed.text
    csrf = csrf_of(listed.text)
    refused = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund/review",
        data={"csrf": csrf, "destination": "original"},
    )
    assert refused.status_code == 404
    created = browser_client.post(
        f"/dashboard/orders/{order['id']}/returns",
        data={"csrf": csrf, f"quantity-{order['lines'][1]['id']}": "1"},
    )
    assert created.status_code == 404
    assert status_of(api, made["id"]) == "received"


def test_a_return_refund_above_the_staff_limit_is_left_to_an_admin(
    api: Api, browser_client: TestClient
) -> None:
    _, made = received_return(api)
    email = f"limited-{uuid.uuid4().hex[:6]}@shop.example"
    transactions.run(
        api.container.uow_factory,
        lambda uow: staff.create_user(
            uow,
            api.merchant.merchant.id,
            email,
            PASSWORD,
            permissions=(Permission.REFUND,),
            refund_limit=Money(1000, Currency.of("EUR")),
        ),
    )
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/returns/{made['id']}")
    review = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund/review",
        data={"csrf": csrf_of(page.text), "destination": "original"},
    )
    assert review.status_code == 200
    assert "an admin has to refund this return" in review.text
    assert 'name="quote"' not in review.text  # no Refund button to press
    # posted anyway, with a quote an admin's review would give: refused on the form
    preview = api.client.post(f"/v1/returns/{made['id']}/refund/preview", json={}).json()
    refused = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund",
        data={"csrf": csrf_of(page.text), "destination": "original", "quote": preview["quote"]},
    )
    assert refused.status_code == 403
    assert "above your refund limit: an admin has to refund this return" in refused.text
    assert 'id="refund"' in refused.text  # the return page, its refund form again
    assert status_of(api, made["id"]) == "received"


def test_a_refund_needs_its_review_and_a_reason_is_shown_as_text(
    api: Api, browser_client: TestClient
) -> None:
    _, made = received_return(api)
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    page = browser_client.get(f"/dashboard/returns/{made['id']}")
    csrf = csrf_of(page.text)
    unreviewed = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund", data={"csrf": csrf, "destination": "other"}
    )
    assert unreviewed.status_code == 422
    assert "Review the refund first." in unreviewed.text
    review = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund/review",
        data={"csrf": csrf, "destination": "other", "reason": "<script>alert(1)</script>"},
    )
    assert "<script>alert(1)</script>" not in review.text
    quote = re.search(r'name="quote" value="([^"]+)"', review.text)
    assert quote
    done = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund",
        data={
            "csrf": csrf,
            "destination": "other",
            "reason": "<script>alert(1)</script>",
            "quote": quote.group(1),
        },
    )
    assert done.status_code == 200
    assert "by other means is recorded" in done.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in done.text
    assert "<script>alert(1)</script>" not in done.text
    assert status_of(api, made["id"]) == "closed"


def test_a_return_changed_meanwhile_is_explained_on_the_page(
    api: Api, browser_client: TestClient
) -> None:
    # given a requested return whose page is open, approved meanwhile through the API
    order = shipped(api)
    made = create_return(
        api, order, lines=[{"line_id": order["lines"][0]["id"], "quantity": 1}], requested=True
    )
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    page = browser_client.get(f"/dashboard/returns/{made['id']}")
    assert api.client.post(f"/v1/returns/{made['id']}/approve").status_code == 200
    # when the page's Decline is sent: refused, said at the top, the return as it now is
    refused = browser_client.post(
        f"/dashboard/returns/{made['id']}/decline",
        data={"csrf": csrf_of(page.text), "reason": "Worn"},
    )
    assert refused.status_code == 409
    assert "This return is open now, so that cannot be done" in refused.text
    assert "Receive items" in refused.text
    assert status_of(api, made["id"]) == "open"


def test_a_refund_reviewed_before_the_order_changed_is_reviewed_again(
    api: Api, browser_client: TestClient
) -> None:
    order, made = received_return(api)
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    csrf = csrf_of(browser_client.get(f"/dashboard/returns/{made['id']}").text)
    review = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund/review",
        data={"csrf": csrf, "destination": "original"},
    )
    quote = re.search(r'name="quote" value="([^"]+)"', review.text)
    assert quote
    teapot = {"lines": [{"line_id": order["lines"][1]["id"], "quantity": 1, "restock": True}]}
    assert api.client.post(f"/v1/orders/{order['id']}/refund", json=teapot).status_code == 201
    stale = browser_client.post(
        f"/dashboard/returns/{made['id']}/refund",
        data={"csrf": csrf, "destination": "original", "quote": quote.group(1)},
    )
    assert stale.status_code == 409
    assert "The order changed since you reviewed this refund. Review it again." in stale.text
    assert status_of(api, made["id"]) == "received"
