"""The dashboard on the server's side: sign-in, sessions, CSRF, permissions, escaping and
merchant boundaries. Every check is the server's; the browser tests walk the seeds."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.bootstrap import Container
from refundry.domain.money import Currency, Money
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.api.app import create_app
from refundry.services import transactions
from refundry.services.handlers import staff
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import Api, order_body

PASSWORD = "correct horse battery"


def make_user(
    container: Container, merchant_id: uuid.UUID, role: Role, *permissions: Permission
) -> str:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@shop.example"
    transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, email, PASSWORD, role=role, permissions=permissions
        ),
    )
    return email


@pytest.fixture
def browser_client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/dashboard/login", data={"email": email, "password": password}, follow_redirects=False
    )


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def gift_order(api: Api, links: int = 2) -> dict[str, Any]:
    body = {
        "external_id": f"GIFT-{uuid.uuid4().hex[:8]}",
        "currency": "EUR",
        "customer": {"email": "rewards@acme.example"},
        "lines": [
            {
                "sku": "GIFT-25",
                "name": "Gift card link EUR 25",
                "quantity": links,
                "unit_price": 2500,
                "kind": "gift_card_link",
            }
        ],
    }
    made = api.client.post("/v1/orders", json=body)
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def test_signing_in_opens_customer_service_and_a_wrong_password_does_not(
    api: Api, browser_client: TestClient
) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    refused = sign_in(browser_client, email, "not the password")
    assert refused.status_code == 401
    assert "The email or the password is wrong" in refused.text.replace("the email", "The email")
    assert "refundry_session" not in browser_client.cookies
    signed_in = sign_in(browser_client, email.upper())  # emails are case-insensitive
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    page = browser_client.get("/dashboard/orders")
    assert page.status_code == 200
    assert "Customer Service" in page.text


def test_pages_need_a_session(browser_client: TestClient) -> None:
    answer = browser_client.get("/dashboard/orders", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


def test_search_finds_an_order_by_id_and_another_merchants_order_is_not_found(
    api: Api, browser_client: TestClient
) -> None:
    order = gift_order(api)
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    found = browser_client.get("/dashboard/orders", params={"query": order["id"]})
    assert order["external_id"] in found.text
    other: NewMerchant = transactions.run(
        api.container.uow_factory, lambda uow: create_merchant(uow, "Other")
    )
    stranger = make_user(api.container, other.merchant.id, Role.ADMIN)
    with TestClient(create_app(api.container)) as other_client:
        sign_in(other_client, stranger)
        assert other_client.get(f"/dashboard/orders/{order['id']}").status_code == 404
        listed = other_client.get("/dashboard/orders", params={"query": order["id"]})
        assert order["external_id"] not in listed.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    api: Api, browser_client: TestClient
) -> None:
    order = gift_order(api)
    link_id = order["lines"][0]["links"][0]["id"]
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    for token in (None, "forged"):
        data = {"reason": "x"} if token is None else {"reason": "x", "csrf": token}
        refused = browser_client.post(
            f"/dashboard/orders/{order['id']}/items/{link_id}/cancel", data=data
        )
        assert refused.status_code == 422
        assert "reload it" in refused.text
    link = api.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][0]
    assert link["cancelled_at"] is None


def test_staff_without_the_cancel_permission_get_403_and_change_nothing(
    api: Api, browser_client: TestClient
) -> None:
    order = gift_order(api)
    link_id = order["lines"][0]["links"][0]["id"]
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.REPORTS)
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    assert "You need the cancel permission" in page.text  # the menu says so...
    refused = browser_client.post(  # ...and the server refuses, whatever the page showed
        f"/dashboard/orders/{order['id']}/items/{link_id}/cancel",
        data={"csrf": csrf_of(page.text), "reason": "x"},
    )
    assert refused.status_code == 403
    assert "cancel permission" in refused.text
    link = api.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][0]
    assert link["cancelled_at"] is None


def test_a_cancel_with_the_permission_works_and_a_script_in_the_reason_is_shown_as_text(
    api: Api, browser_client: TestClient
) -> None:
    order = gift_order(api)
    email = make_user(
        api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL, Permission.REFUND
    )
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    done = browser_client.post(
        f"/dashboard/orders/{order['id']}/cancel",
        data={"csrf": csrf_of(page.text), "reason": "<script>alert(1)</script>"},
    )
    assert done.status_code == 200
    assert "The order is canceled." in done.text
    assert "<script>alert(1)</script>" not in done.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in done.text
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [refund["created_by"].split(":")[0] for refund in refunds] == ["staff"]


def test_the_cancel_dialog_offers_canceled_and_the_merchants_labels_and_refuses_others(
    api: Api, browser_client: TestClient
) -> None:
    # given a merchant with its own statuses after cancellation, and a paid order
    labels = ["Refused", "Out of stock"]
    assert api.client.patch("/v1/merchant", json={"cancel_labels": labels}).is_success
    order = card_order(api)
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    # then the dialog offers a select: Canceled first and chosen, then the merchant's labels
    select = re.search(r'<select name="status">(.*?)</select>', page.text, re.S)
    assert select, "the status after cancellation is a select, not free text"
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1))
    assert options == [
        ("cancelled", " selected", "Canceled"),
        ("Refused", "", "Refused"),
        ("Out of stock", "", "Out of stock"),
    ]
    # when a status off the list is posted anyway, it is refused in plain words
    refused = browser_client.post(
        f"/dashboard/orders/{order['id']}/cancel",
        data={"csrf": csrf_of(page.text), "status": "paid", "reason": "no"},
    )
    assert refused.status_code == 422
    # on the dialog that was sent, open again, with the reason typed kept
    dialog = '<dialog id="cancel-order" aria-labelledby="cancel-order-title" data-open-on-load>'
    assert dialog in refused.text
    assert re.search(r'<textarea name="reason"[^>]*>no</textarea>', refused.text)
    assert "That is not one of this shop&#39;s statuses after cancellation." in refused.text
    assert "Choose one of: Canceled, Refused, Out of stock." in refused.text
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] == "paid"
    # and one from the list cancels the order with it
    done = browser_client.post(
        f"/dashboard/orders/{order['id']}/cancel",
        data={"csrf": csrf_of(page.text), "status": "Out of stock", "reason": "  "},
    )
    assert "The order is canceled." in done.text
    cancelled = api.client.get(f"/v1/orders/{order['id']}").json()
    assert (cancelled["order_status"], cancelled["status_label"]) == ("cancelled", "Out of stock")
    assert cancelled["cancel_reason"] == "Order cancelled in the dashboard"  # none was typed


def test_signing_out_ends_the_session(api: Api, browser_client: TestClient) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    page = browser_client.get("/dashboard/orders")
    token = browser_client.cookies["refundry_session"]
    browser_client.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
    with TestClient(create_app(api.container)) as replay:
        replay.cookies.set("refundry_session", token, path="/dashboard")
        answer = replay.get("/dashboard/orders", follow_redirects=False)
    assert answer.status_code == 303


def card_order(api: Api) -> dict[str, Any]:
    made = api.client.post("/v1/orders", json=order_body())
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


def test_a_staff_refund_above_the_limit_waits_for_an_admin_before_money_moves(
    api: Api, browser_client: TestClient
) -> None:
    order = card_order(api)
    email = f"limited-{uuid.uuid4().hex[:8]}@shop.example"
    limited = transactions.run(
        api.container.uow_factory,
        lambda uow: staff.create_user(
            uow,
            api.merchant.merchant.id,
            email,
            PASSWORD,
            role=Role.STAFF,
            permissions=(Permission.REFUND,),
            refund_limit=Money(5000, Currency.of("EUR")),
        ),
    )
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}/refund")
    review = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund/review",
        data={"csrf": csrf_of(page.text), "mode": "full"},
    )
    assert "above your refund limit" in review.text
    assert "Ask an admin to approve" in review.text
    quote = re.search(r'name="quote" value="([^"]+)"', review.text)
    assert quote
    asked = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={
            "csrf": csrf_of(page.text),
            "mode": "full",
            "quote": quote.group(1),
            "reason": "Broken on arrival",
        },
    )
    # then nothing is refunded, nothing is sent: it waits for an admin
    assert "waits for an admin's approval" in asked.text
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    api.settle()
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 0
    # the staff member cannot decide it themselves
    assert browser_client.get("/dashboard/approvals").status_code == 403
    # when an admin approves it
    admin = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    with TestClient(create_app(api.container)) as admin_client:
        sign_in(admin_client, admin)
        queue = admin_client.get("/dashboard/approvals")
        assert "Broken on arrival" in queue.text
        approval_id = re.search(r"/dashboard/approvals/([0-9a-f-]+)/approve", queue.text)
        assert approval_id
        approved = admin_client.post(
            f"/dashboard/approvals/{approval_id.group(1)}/approve",
            data={"csrf": csrf_of(queue.text)},
        )
        assert approved.status_code == 200
        again = admin_client.post(
            f"/dashboard/approvals/{approval_id.group(1)}/approve",
            data={"csrf": csrf_of(queue.text)},
        )
        assert again.status_code == 422  # decided once
    # then the refund is made as asked, in the requester's name
    [refund] = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert refund["amount"] == order["total"]
    assert (refund["reason"], refund["created_by"]) == ("Broken on arrival", limited.actor)


def test_staff_without_the_refund_permission_get_403_on_the_refund_post(
    api: Api, browser_client: TestClient
) -> None:
    order = card_order(api)
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL)
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    assert f'/dashboard/orders/{order["id"]}/refund"' not in page.text  # Refund disabled
    for path in ("refund/review", "refund"):
        refused = browser_client.post(
            f"/dashboard/orders/{order['id']}/{path}",
            data={"csrf": csrf_of(page.text), "mode": "full", "quote": "x"},
        )
        assert refused.status_code == 403
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []


def test_bad_input_is_a_clear_html_page_never_a_500(api: Api, browser_client: TestClient) -> None:
    order = gift_order(api)
    link_id = order["lines"][0]["links"][0]["id"]
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    attempts = [
        browser_client.post(  # a CSRF token no ASCII comparison can take
            f"/dashboard/orders/{order['id']}/items/{link_id}/cancel", data={"csrf": "é"}
        ),
        browser_client.get("/dashboard/orders", params={"query": "a\x00b"}),
        browser_client.post(
            f"/dashboard/orders/{order['id']}/cancel",
            data={"csrf": csrf_of(page.text), "reason": "a\x00b"},
        ),
        browser_client.post("/dashboard/orders/not-an-id/cancel", data={"csrf": "x"}),
        browser_client.get("/dashboard/no-such-page"),
    ]
    for answer in attempts:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        assert "That was not done" in answer.text
    assert api.client.get(f"/v1/orders/{order['id']}").json()["order_status"] == "paid"


def test_a_form_posted_from_another_site_is_refused_even_the_sign_in(
    api: Api, browser_client: TestClient
) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    forged = browser_client.post(
        "/dashboard/login",
        data={"email": email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "refundry_session" not in forged.headers.get("set-cookie", "")
    same_site = browser_client.post(
        "/dashboard/login",
        data={"email": email, "password": PASSWORD},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same_site.status_code == 303


def test_dashboard_pages_are_never_cached_or_framed(api: Api, browser_client: TestClient) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    for path in ("/dashboard/login", "/dashboard/orders"):
        headers = browser_client.get(path).headers
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_reports_need_the_reports_permission(api: Api, browser_client: TestClient) -> None:
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL)
    sign_in(browser_client, email)
    assert "Reporting" not in browser_client.get("/dashboard/orders").text
    for path in (
        "/dashboard/reports/refunds",
        "/dashboard/reports/refunds.csv?from=2026-11-01&to=2026-11-30",
    ):
        refused = browser_client.get(path)
        assert refused.status_code == 403
        assert "reports permission" in refused.text


def test_account_history_shows_only_this_merchants_customer(
    api: Api, browser_client: TestClient
) -> None:
    order = card_order(api)
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    history = browser_client.get(f"/dashboard/customers/{order['customer']['email']}")
    assert order["external_id"] in history.text
    other: NewMerchant = transactions.run(
        api.container.uow_factory, lambda uow: create_merchant(uow, "Other")
    )
    stranger = make_user(api.container, other.merchant.id, Role.ADMIN)
    with TestClient(create_app(api.container)) as other_client:
        sign_in(other_client, stranger)
        answer = other_client.get(f"/dashboard/customers/{order['customer']['email']}")
        assert answer.status_code == 404
        assert order["external_id"] not in answer.text


def test_an_admin_adds_staff_and_grants_permissions_and_staff_cannot(
    api: Api, browser_client: TestClient
) -> None:
    admin = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, admin)
    page = browser_client.get("/dashboard/team")
    email = f"new-{uuid.uuid4().hex[:6]}@shop.example"
    added = browser_client.post(
        "/dashboard/team",
        data={"csrf": csrf_of(page.text), "email": email, "permission": ["cancel"]},
    )
    password = re.search(r"the password <code>([^<]+)</code>", added.text)
    assert password, added.text
    member_id = re.search(rf'{email}</td>.*?/dashboard/team/([0-9a-f-]+)"', added.text, re.S)
    assert member_id
    granted = browser_client.post(
        f"/dashboard/team/{member_id.group(1)}",
        data={
            "csrf": csrf_of(page.text),
            "permission": ["cancel", "refund"],
            "refund_limit": "50.00",
            "currency": "EUR",
        },
    )
    assert granted.status_code == 200
    with TestClient(create_app(api.container)) as staff_client:
        assert sign_in(staff_client, email, password.group(1)).status_code == 303
        staff_page = staff_client.get("/dashboard/orders")
        refused = staff_client.post(
            f"/dashboard/team/{member_id.group(1)}",
            data={"csrf": csrf_of(staff_page.text), "permission": ["reports", "webhooks"]},
        )
        assert refused.status_code == 403
    found = transactions.read(api.container.uow_factory, lambda uow: uow.staff.by_email(email))
    assert found is not None
    member = found[0]
    assert member.permissions == {Permission.CANCEL, Permission.REFUND}
    assert member.refund_limit == Money(5000, Currency.of("EUR"))


def test_reports_pages_show_sales_net_of_refunds_with_a_chart(
    api: Api, browser_client: TestClient
) -> None:
    order = card_order(api)
    api.client.post(f"/v1/orders/{order['id']}/refund", json={"amount": 1000, "method": "other"})
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.REPORTS)
    sign_in(browser_client, email)
    board = browser_client.get("/dashboard/reports")
    assert board.status_code == 200
    assert "<svg" in board.text
    assert "Sales and refunds per day, EUR" in board.text
    for path, expected in (
        ("/dashboard/reports/summary?period=week", "Net sales"),
        ("/dashboard/reports/items", "MUG"),
        ("/dashboard/reports/reasons", "Refunds"),
    ):
        page = browser_client.get(path)
        assert page.status_code == 200, page.text
        assert expected in page.text
    refused = browser_client.get("/dashboard/reports/summary?period=year")
    assert refused.status_code == 422


def test_operations_webhooks_float_and_points_ledger(api: Api, browser_client: TestClient) -> None:
    endpoint = api.client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["cancelled"]},
    ).json()
    api.client.put("/v1/points-program", json={"points_per_unit": 1})
    customer = {"email": f"{uuid.uuid4().hex[:6]}@example.com"}
    order = api.client.post("/v1/orders", json=order_body(customer=customer)).json()
    api.client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "test"})
    clerk = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.REPORTS)
    sign_in(browser_client, clerk)
    assert browser_client.get("/dashboard/webhooks").status_code == 403
    assert "no prepaid float" in browser_client.get("/dashboard/float").text
    ledger = browser_client.get(f"/dashboard/customers/{customer['email']}/points")
    assert ledger.status_code == 200
    assert "earned" in ledger.text
    assert "reversed" in ledger.text
    admin = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    with TestClient(create_app(api.container)) as admin_client:
        sign_in(admin_client, admin)
        page = admin_client.get("/dashboard/webhooks")
        assert page.status_code == 200
        assert "http://127.0.0.1:9/hooks" in page.text
        event_id = re.search(r"/dashboard/webhooks/events/([0-9a-f-]+)/redeliver", page.text)
        assert event_id
        again = admin_client.post(
            f"/dashboard/webhooks/events/{event_id.group(1)}/redeliver",
            data={"csrf": csrf_of(page.text)},
        )
        assert again.status_code == 200
    deliveries = api.client.get(f"/v1/events/{event_id.group(1)}/deliveries").json()["data"]
    assert deliveries
    # nothing listens on port 9: leave no delivery due for the other tests' workers
    with api.container.engine.begin() as connection:
        connection.execute(
            sa.update(webhook_tables.webhook_deliveries)
            .where(webhook_tables.webhook_deliveries.c.endpoint_id == uuid.UUID(endpoint["id"]))
            .values(state="failed", last_error="test over")
        )


def test_the_orders_list_filters_by_status(api: Api, browser_client: TestClient) -> None:
    kept, cancelled = card_order(api), card_order(api)
    api.client.post(f"/v1/orders/{cancelled['id']}/cancel", json={})
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    only_cancelled = browser_client.get("/dashboard/orders", params={"status": "cancelled"})
    assert cancelled["external_id"] in only_cancelled.text
    assert kept["external_id"] not in only_cancelled.text
    anything = browser_client.get("/dashboard/orders", params={"status": "", "query": ""})
    assert kept["external_id"] in anything.text
    assert browser_client.get("/dashboard/orders", params={"status": "lost"}).status_code == 422


def test_a_refund_form_with_nonsense_is_refused_on_a_page(
    api: Api, browser_client: TestClient
) -> None:
    order, other = card_order(api), card_order(api)
    email = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, email)
    csrf = csrf_of(browser_client.get("/dashboard/orders").text)
    review = f"/dashboard/orders/{order['id']}/refund/review"
    for data in (
        {"mode": "edit", f"line-{order['lines'][0]['id']}": "abc"},
        {"mode": "edit", f"line-{other['lines'][0]['id']}": "1"},  # another order's line
        {"mode": "edit", "amount": "1.234"},  # more decimals than EUR has
        {"mode": "edit", "amount": "99999999"},  # more than is left
        {"mode": "full", "method": "bitcoin"},
        {"mode": "edit"},  # nothing chosen
    ):
        refused = browser_client.post(review, data={"csrf": csrf, **data})
        assert 400 <= refused.status_code < 500, (data, refused.text)
        assert 'class="notice error" role="alert"' in refused.text  # on the form, or a page
        assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []
    forged = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={"csrf": csrf, "mode": "full", "quote": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 303  # back to the first step, which says why
    back = browser_client.get(forged.headers["location"]).text
    assert "This review cannot be used. Review the refund again." in back
    assert api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []


def test_a_cancel_that_gives_money_back_is_a_refund_and_keeps_to_the_limit(
    api: Api, browser_client: TestClient
) -> None:
    paid = card_order(api)
    canceller = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL)
    sign_in(browser_client, canceller)
    page = browser_client.get(f"/dashboard/orders/{paid['id']}")
    refused = browser_client.post(
        f"/dashboard/orders/{paid['id']}/cancel", data={"csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert "refund permission" in refused.text
    limited = f"limited-{uuid.uuid4().hex[:8]}@shop.example"
    transactions.run(
        api.container.uow_factory,
        lambda uow: staff.create_user(
            uow, api.merchant.merchant.id, limited, PASSWORD, role=Role.STAFF,
            permissions=(Permission.CANCEL, Permission.REFUND),
            refund_limit=Money(1000, Currency.of("EUR")),
        ),
    )  # fmt: skip
    with TestClient(create_app(api.container)) as limited_client:
        sign_in(limited_client, limited)
        page = limited_client.get(f"/dashboard/orders/{paid['id']}")
        over = limited_client.post(
            f"/dashboard/orders/{paid['id']}/cancel", data={"csrf": csrf_of(page.text)}
        )
        assert over.status_code == 403
        assert "refund limit" in over.text
    # nothing was written: the order is still paid, with no refund
    after = api.client.get(f"/v1/orders/{paid['id']}").json()
    assert (after["order_status"], after["refunded"]) == ("paid", 0)


def test_a_refund_cannot_be_split_past_the_limit(api: Api, browser_client: TestClient) -> None:
    order = card_order(api)
    email = f"split-{uuid.uuid4().hex[:8]}@shop.example"
    transactions.run(
        api.container.uow_factory,
        lambda uow: staff.create_user(
            uow, api.merchant.merchant.id, email, PASSWORD, role=Role.STAFF,
            permissions=(Permission.REFUND,), refund_limit=Money(1000, Currency.of("EUR")),
        ),
    )  # fmt: skip
    sign_in(browser_client, email)
    csrf = csrf_of(browser_client.get("/dashboard/orders").text)
    outcomes = []
    for _ in range(3):
        review = browser_client.post(
            f"/dashboard/orders/{order['id']}/refund/review",
            data={"csrf": csrf, "mode": "edit", "amount": "6.00"},
        )
        quote = re.search(r'name="quote" value="([^"]+)"', review.text)
        assert quote
        made = browser_client.post(
            f"/dashboard/orders/{order['id']}/refund",
            data={"csrf": csrf, "mode": "edit", "amount": "6.00", "quote": quote.group(1)},
        )
        outcomes.append(made)
    # the first 6.00 is within 10.00; the second would make 12.00: it waits for an admin
    assert "waits for an admin" in outcomes[1].text
    # one is already waiting: back on Edit refund, which says so
    assert outcomes[2].url.path.endswith("/refund/edit")
    assert "already waits for an admin&#39;s approval" in outcomes[2].text
    refunds = api.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"]
    assert [refund["amount"] for refund in refunds] == [600]
    # a quote for another amount is refused, not turned into an approval
    review = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund/review",
        data={"csrf": csrf, "mode": "edit", "amount": "1.00"},
    )
    quote = re.search(r'name="quote" value="([^"]+)"', review.text)
    assert quote
    swapped = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={"csrf": csrf, "mode": "edit", "amount": "40.00", "quote": quote.group(1)},
        follow_redirects=False,
    )
    assert swapped.status_code == 303
    assert swapped.headers["location"].endswith("&refused=quote-mismatch")


def test_more_nonsense_is_refused_on_a_page(api: Api, browser_client: TestClient) -> None:
    order = card_order(api)
    admin = make_user(api.container, api.merchant.merchant.id, Role.ADMIN)
    sign_in(browser_client, admin)
    csrf = csrf_of(browser_client.get("/dashboard/orders").text)
    staff_id = re.search(
        r'/dashboard/team/([0-9a-f-]+)"',
        browser_client.post(
            "/dashboard/team", data={"csrf": csrf, "email": f"x-{uuid.uuid4().hex[:6]}@s.example"}
        ).text,
    )
    assert staff_id
    # a refused Refund answers with a redirect to its form (test_dashboard_refusals.py)
    refund = browser_client.post(
        f"/dashboard/orders/{order['id']}/refund",
        data={"csrf": csrf, "mode": "full", "quote": "é.é"},
    )
    assert refund.url.path == f"/dashboard/orders/{order['id']}/refund"
    assert 'class="notice error" role="alert"' in refund.text
    for answer in (
        browser_client.post(
            f"/dashboard/team/{staff_id.group(1)}",
            data={"csrf": csrf, "refund_limit": "99999999999999999999", "currency": "EUR"},
        ),
        browser_client.get("/dashboard/reports/summary", params={"to": "0001-01-05"}),
        browser_client.get("/dashboard/reports/refunds", params={"to": "9999-12-31"}),
        browser_client.post(
            f"/dashboard/orders/{order['id']}/refund/review",
            data={"csrf": csrf, "mode": "full", f"line-{order['lines'][0]['id']}": "1"},
        ),
    ):
        assert 400 <= answer.status_code < 500, answer.text
        assert 'class="notice error" role="alert"' in answer.text  # on the form, or a page
    # Account History is a customer's, not whatever an order search finds
    assert browser_client.get(f"/dashboard/customers/{order['id']}").status_code == 404
