"""Who did what, as the dashboard names it: a team member by e-mail, an API key by the
last characters of its id, never the ledger's raw ``staff:<uuid>``; and who cancelled."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from fastapi.testclient import TestClient

from refundry.adapters.db.tables import orders as order_tables
from refundry.domain.order import PaymentMethod
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.actors import Actors, provider_name
from tests.conftest import Api, order_body
from tests.e2e.test_dashboard import browser_client, csrf_of, gift_order, make_user, sign_in

__all__ = ["browser_client"]  # the fixture, shared with the other dashboard tests


def timeline_rows(page: str) -> list[tuple[str, str]]:
    """(what, who) of each row of the order page's timeline."""
    table = page.split("<h2>Timeline</h2>", 1)[1]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>\s*<td>([^<]*)</td>", table)
    return [(what, who) for what, who in rows]


def refunds_by(page: str) -> list[str]:
    """The "By" cell of each row of the order page's refunds table."""
    table = page.split('<section id="refunds"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<td class="hide-narrow">([^<]*)</td>\s*</tr>', table)


def test_an_api_cancel_names_the_key_and_a_staff_cancel_names_the_member(
    api: Api, browser_client: TestClient
) -> None:
    # given a paid order cancelled through the API, and a held one a staff member cancels
    paid = api.client.post("/v1/orders", json=order_body()).json()
    assert api.client.post(f"/v1/orders/{paid['id']}/cancel", json={}).is_success
    held = api.client.post("/v1/orders", json=order_body(payment={"capture": "manual"})).json()
    email = make_user(api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL)
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{held['id']}")
    done = browser_client.post(
        f"/dashboard/orders/{held['id']}/cancel", data={"csrf": csrf_of(page.text)}
    )
    assert "The order is canceled." in done.text
    # then the held order's timeline says who cancelled it (no refund recorded it)
    assert ("Order canceled", email) in timeline_rows(done.text)
    # and the paid one names the API key by its id's last 4, in the timeline and refunds
    key = f"API key …{api.merchant.api_key.split('_')[1][-4:]}"
    paid_page = browser_client.get(f"/dashboard/orders/{paid['id']}").text
    assert ("Order canceled", key) in timeline_rows(paid_page)
    assert ("Cancellation of €130.46", key) in timeline_rows(paid_page)
    assert refunds_by(paid_page) == [key]
    assert "api_key:" not in paid_page
    assert "staff:" not in done.text


def test_a_gift_card_link_cancel_and_a_refund_name_the_team_member(
    api: Api, browser_client: TestClient
) -> None:
    order = gift_order(api)
    link_id = order["lines"][0]["links"][0]["id"]
    email = make_user(
        api.container, api.merchant.merchant.id, Role.STAFF, Permission.CANCEL, Permission.REFUND
    )
    sign_in(browser_client, email)
    page = browser_client.get(f"/dashboard/orders/{order['id']}")
    done = browser_client.post(
        f"/dashboard/orders/{order['id']}/items/{link_id}/cancel",
        data={"csrf": csrf_of(page.text), "reason": "sent to the wrong person"},
    ).text
    assert ("Gift card link 1 canceled", email) in timeline_rows(done)
    assert refunds_by(done) == [email]
    assert "staff:" not in done


def test_a_cancel_recorded_before_its_actor_was_kept_names_who_made_its_refund(
    api: Api, browser_client: TestClient
) -> None:
    # given a paid order cancelled through the API, stored as before migration 0017 (no
    # cancelled_by), and a held one cancelled the same way, which no refund records
    paid = api.client.post("/v1/orders", json=order_body()).json()
    held = api.client.post("/v1/orders", json=order_body(payment={"capture": "manual"})).json()
    for order in (paid, held):
        assert api.client.post(f"/v1/orders/{order['id']}/cancel", json={}).is_success
    with api.container.engine.begin() as connection:
        connection.execute(
            sa.update(order_tables.orders)
            .where(order_tables.orders.c.id.in_([uuid.UUID(paid["id"]), uuid.UUID(held["id"])]))
            .values(cancelled_by=None)
        )
    sign_in(browser_client, make_user(api.container, api.merchant.merchant.id, Role.ADMIN))
    # then the paid one names the key that made the cancellation refund at that moment
    key = f"API key …{api.merchant.api_key.split('_')[1][-4:]}"
    paid_page = browser_client.get(f"/dashboard/orders/{paid['id']}").text
    assert ("Order canceled", key) in timeline_rows(paid_page)
    # and the held one says plainly that nobody was recorded
    held_page = browser_client.get(f"/dashboard/orders/{held['id']}").text
    assert ("Order canceled", "Not recorded") in timeline_rows(held_page)


def test_every_kind_of_actor_reads_as_a_person_would_name_it() -> None:
    actors = Actors({"1": "ana@shop.example"}, provider_name(PaymentMethod.KLARNA, "sandbox"))
    named = [
        actors.name(actor)
        for actor in ("staff:1", "staff:2", "api_key:0123abcd", "provider", "system:watch", None)
    ]
    assert named == [
        "ana@shop.example",
        "A former team member",
        "API key …abcd",
        "Klarna",
        "Refundry",
        "Not recorded",
    ]
    assert provider_name(PaymentMethod.CARD, "stripe") == "Stripe"
    assert provider_name(PaymentMethod.CARD, "sandbox") == "The sandbox card provider"
