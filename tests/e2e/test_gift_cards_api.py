"""Seed 000 through the API: float-paid gift-card links, item cancel, invoice-cycle credit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.bootstrap import Container
from refundry.services import transactions
from refundry.services.handlers import merchant_float
from tests.conftest import Api


def gift_card_order(api: Api, quantity: int = 3, **line: Any) -> dict[str, Any]:
    body = {
        "currency": "EUR",
        "customer": {"email": "hr@acme.example"},
        "lines": [
            {
                "sku": "GIFT-25",
                "name": "Gift card EUR 25",
                "quantity": quantity,
                "unit_price": 2500,
                "kind": "gift_card_link",
                **line,
            }
        ],
        "payment": {"method": "float"},
    }
    response = api.client.post("/v1/orders", json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


@pytest.fixture
def funded(api: Api) -> Api:
    assert api.client.put(
        "/v1/float", json={"currency": "EUR", "invoice_cycle": "daily"}
    ).is_success
    assert api.client.post("/v1/float/top-ups", json={"amount": 100_000}).status_code == 201
    return api


def close_cycles(container: Container, api: Api, days_ahead: int) -> list[Any]:
    at = datetime.now(UTC) + timedelta(days=days_ahead)
    return transactions.run(
        container.uow_factory,
        lambda uow: merchant_float.close_due_cycles(uow, api.merchant.merchant.id, at),
    )


def close_at(container: Container, api: Api, at: datetime) -> list[tuple[datetime, datetime]]:
    """Close the due cycles at ``at``; the closed periods."""
    invoices = transactions.run(
        container.uow_factory,
        lambda uow: merchant_float.close_due_cycles(uow, api.merchant.merchant.id, at),
    )
    return [(invoice.period_start, invoice.period_end) for invoice in invoices]


def put_float(api: Api, monkeypatch: pytest.MonkeyPatch, cycle: str, at: datetime) -> Any:
    """PUT /v1/float as if it were ``at``."""
    monkeypatch.setattr(merchant_float, "utcnow", lambda: at)
    response = api.client.put("/v1/float", json={"currency": "EUR", "invoice_cycle": cycle})
    assert response.is_success, response.text
    return response.json()


def open_cycle(body: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(body["cycle_start"]), datetime.fromisoformat(body["cycle_end"])


def test_ordering_links_charges_the_float_and_issues_one_link_per_unit(funded: Api) -> None:
    order = gift_card_order(funded)
    links = order["lines"][0]["links"]
    assert len(links) == 3
    assert {link["state"] for link in links} == {"issued"}
    assert all(link["can_cancel"] and not link["accessed"] for link in links)
    assert len({link["url"] for link in links}) == 3
    assert funded.client.get("/v1/float").json()["balance"] == 100_000 - 7_500


def test_an_order_the_float_cannot_cover_is_refused_and_nothing_is_written(api: Api) -> None:
    api.client.put("/v1/float", json={"currency": "EUR"})
    api.client.post("/v1/float/top-ups", json={"amount": 1_000})
    response = api.client.post(
        "/v1/orders",
        json={
            "currency": "EUR",
            "customer": {"email": "hr@acme.example"},
            "lines": [
                {
                    "sku": "G",
                    "name": "G",
                    "quantity": 1,
                    "unit_price": 2500,
                    "kind": "gift_card_link",
                }
            ],
            "payment": {"method": "float"},
        },
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/float-insufficient")
    assert api.client.get("/v1/orders").json()["data"] == []
    assert api.client.get("/v1/float").json()["balance"] == 1_000


def test_the_consumer_page_records_the_first_open_and_blocks_cancel(funded: Api) -> None:
    # given a link the consumer opens
    order = gift_card_order(funded)
    link = order["lines"][0]["links"][0]
    page = funded.client.get(link["url"])
    assert page.status_code == 200
    assert "25.00 EUR" in page.text
    # when support tries to cancel it
    response = funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    # then the problem names the condition, and the lookup shows why
    assert response.status_code == 409
    assert response.json()["type"].endswith("/link-accessed")
    looked_up = funded.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][0]
    assert looked_up["accessed"] is True
    assert looked_up["can_cancel"] is False
    assert "opened" in looked_up["cancel_blocked_because"]


def test_an_expired_link_cannot_be_cancelled_and_says_so(funded: Api) -> None:
    order = gift_card_order(
        funded, quantity=1, link_expires_at=(datetime.now(UTC) - timedelta(days=1)).isoformat()
    )
    link = order["lines"][0]["links"][0]
    assert link["expired"] is True
    response = funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    assert response.json()["type"].endswith("/link-expired")
    assert funded.client.get(link["url"]).status_code == 410


def test_a_spent_link_cannot_be_cancelled(funded: Api) -> None:
    order = gift_card_order(funded, quantity=1)
    link = order["lines"][0]["links"][0]
    spent = funded.client.post(f"/v1/links/{link['id']}/spend", json={"amount": 700})
    assert spent.status_code == 200
    assert spent.json()["link"]["spent"] == 700
    response = funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    assert response.json()["type"].endswith("/link-spent")


def test_a_cancelled_link_answers_cancelled_and_cannot_be_revived(funded: Api) -> None:
    order = gift_card_order(funded)
    link = order["lines"][0]["links"][1]
    cancelled = funded.client.post(
        f"/v1/orders/{order['id']}/items/{link['id']}/cancel", json={"reason": "Employee left"}
    )
    assert cancelled.status_code == 200
    states = [item["state"] for item in cancelled.json()["lines"][0]["links"]]
    assert states == ["issued", "cancelled", "issued"]
    assert funded.client.get(link["url"]).status_code == 410
    again = funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    assert again.json()["type"].endswith("/link-cancelled")
    spend = funded.client.post(f"/v1/links/{link['id']}/spend", json={"amount": 1})
    assert spend.json()["type"].endswith("/link-cancelled")


def test_the_credit_arrives_at_the_close_once_whatever_the_number_of_closes(
    funded: Api, container: Container
) -> None:
    # given a cancelled link of a float-paid order
    order = gift_card_order(funded)
    link = order["lines"][0]["links"][0]
    funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    # then before the close the credit is pending, not in the balance
    before = funded.client.get("/v1/float").json()
    assert before["balance"] == 100_000 - 7_500
    assert before["pending_credits"] == 2_500
    refund = funded.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"][0]
    assert (refund["method"], refund["status"], refund["kind"]) == (
        "float",
        "started",
        "cancellation",
    )
    # when the cycle closes, and closes again
    first = close_cycles(container, funded, days_ahead=2)
    second = close_cycles(container, funded, days_ahead=2)
    third = close_cycles(container, funded, days_ahead=3)
    # then the credit was applied exactly once
    assert sum(invoice.credits.minor for invoice in first) == 2_500
    assert second == []
    assert sum(invoice.credits.minor for invoice in third) == 0
    after = funded.client.get("/v1/float").json()
    assert after["balance"] == 100_000 - 7_500 + 2_500
    assert after["pending_credits"] == 0
    refund = funded.client.get(f"/v1/refunds/{refund['id']}").json()
    assert refund["status"] == "completed"
    # and the statement says so, in JSON and in CSV
    invoices = funded.client.get("/v1/invoices").json()["data"]
    credited = [invoice for invoice in invoices if invoice["credits"]]
    assert len(credited) == 1
    assert credited[0]["credited"][0]["refund_id"] == refund["id"]
    csv_text = funded.client.get(f"/v1/invoices/{credited[0]['id']}.csv").text
    assert "credits,,,25.00,EUR" in csv_text
    assert f"credit,{order['id']},{refund['id']},25.00,EUR" in csv_text


def test_invoices_chain_their_balances(funded: Api, container: Container) -> None:
    gift_card_order(funded, quantity=2)
    close_cycles(container, funded, days_ahead=3)
    invoices = sorted(
        funded.client.get("/v1/invoices").json()["data"], key=lambda i: i["period_start"]
    )
    assert len(invoices) >= 3
    for earlier, later in itertools.pairwise(invoices):
        assert later["opening_balance"] == earlier["closing_balance"]
        assert later["period_start"] == earlier["period_end"]
    assert invoices[-1]["closing_balance"] == funded.client.get("/v1/float").json()["balance"]


def test_a_whole_order_with_an_opened_link_cannot_be_cancelled(funded: Api) -> None:
    order = gift_card_order(funded)
    funded.client.get(order["lines"][0]["links"][2]["url"])
    response = funded.client.post(f"/v1/orders/{order['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/order-not-cancellable")
    assert response.json()["condition"] == "link-accessed"
    assert funded.client.get(f"/v1/orders/{order['id']}").json()["can_cancel"] is False


def test_another_merchants_link_cannot_be_spent_or_cancelled(
    funded: Api, container: Container
) -> None:
    from fastapi.testclient import TestClient

    from refundry.entrypoints.api.app import create_app
    from refundry.services.handlers.merchants import create_merchant

    order = gift_card_order(funded)
    link = order["lines"][0]["links"][0]
    other = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Other"))
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {other.api_key}"
        assert client.post(f"/v1/links/{link['id']}/spend", json={"amount": 1}).status_code == 404
        cancel = client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
        assert cancel.status_code == 404
    assert (
        funded.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"][0]["state"]
        == "issued"
    )


def test_a_float_paid_order_is_refunded_to_the_float_whatever_the_client_asks(
    funded: Api,
) -> None:
    # given a float-paid order
    order = gift_card_order(funded, quantity=1)
    # when the client asks for a refund to the "original" method
    refund = funded.client.post(f"/v1/orders/{order['id']}/refund", json={"method": "original"})
    # then the original method is the float: a credit pending until the close
    assert refund.status_code == 201, refund.text
    assert (refund.json()["method"], refund.json()["status"]) == ("float", "started")
    assert funded.client.get("/v1/float").json()["pending_credits"] == 2_500


def test_a_card_order_cannot_be_refunded_to_the_float(api: Api) -> None:
    api.client.put("/v1/float", json={"currency": "EUR"})
    order = api.client.post(
        "/v1/orders",
        json={"currency": "EUR", "customer": {"email": "a@example.com"},
              "lines": [{"sku": "X", "name": "X", "quantity": 1, "unit_price": 1000}]},
    ).json()  # fmt: skip
    response = api.client.post(f"/v1/orders/{order['id']}/refund", json={"method": "float"})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-input")
    assert api.client.get(f"/v1/orders/{order['id']}").json()["refunded"] == 0
    assert api.client.get("/v1/float").json()["pending_credits"] == 0


def test_a_changed_invoice_cycle_applies_from_the_next_cycle(
    api: Api, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def day(month: int, day: int, year: int = 2026) -> datetime:
        return datetime(year, month, day, tzinfo=UTC)

    # given a monthly float opened on November 2
    assert api.client.put("/v1/float", json={"currency": "EUR"}).is_success
    with container.engine.begin() as connection:
        connection.execute(
            sa.update(ledger_tables.float_accounts)
            .where(ledger_tables.float_accounts.c.merchant_id == api.merchant.merchant.id)
            .values(created_at=day(11, 2) + timedelta(hours=9))
        )
    # when it switches to daily on November 10
    switched = put_float(api, monkeypatch, "daily", day(11, 10) + timedelta(hours=12))
    # then November stays one monthly cycle: nothing is due on November 23
    assert switched["invoice_cycle"] == "daily"
    assert open_cycle(switched) == (day(11, 1), day(12, 1))
    assert open_cycle(api.client.get("/v1/float").json()) == (day(11, 1), day(12, 1))
    assert close_at(container, api, day(11, 23)) == []
    # and then one invoice for November and daily ones
    assert close_at(container, api, day(12, 3)) == [
        (day(11, 1), day(12, 1)),
        (day(12, 1), day(12, 2)),
        (day(12, 2), day(12, 3)),
    ]
    # when it switches back to monthly on December 3
    back = put_float(api, monkeypatch, "monthly", day(12, 3) + timedelta(hours=8))
    # then December 3 stays a day, and the next cycle runs to the 1st of the month
    assert open_cycle(back) == (day(12, 3), day(12, 4))
    assert close_at(container, api, day(2, 1, 2027)) == [
        (day(12, 3), day(12, 4)),
        (day(12, 4), day(1, 1, 2027)),
        (day(1, 1, 2027), day(2, 1, 2027)),
    ]
    assert close_at(container, api, day(2, 1, 2027)) == []
    invoices = sorted(
        api.client.get("/v1/invoices").json()["data"], key=lambda i: i["period_start"]
    )
    for earlier, later in itertools.pairwise(invoices):
        assert later["period_start"] == earlier["period_end"]


def test_a_changed_invoice_cycle_closes_the_cycles_that_ended_first(
    funded: Api, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a daily float with a pending credit, whose cycles were not closed for two days
    order = gift_card_order(funded)
    link = order["lines"][0]["links"][0]
    funded.client.post(f"/v1/orders/{order['id']}/items/{link['id']}/cancel")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today + timedelta(days=n) for n in range(4)]
    # when it switches to monthly
    switched = put_float(funded, monkeypatch, "monthly", days[2] + timedelta(hours=12))
    # then the two days that ended were closed first, by their length, the credit once
    invoices = sorted(
        funded.client.get("/v1/invoices").json()["data"], key=lambda i: i["period_start"]
    )
    assert [
        (datetime.fromisoformat(i["period_start"]), datetime.fromisoformat(i["period_end"]))
        for i in invoices
    ] == [(days[0], days[1]), (days[1], days[2])]
    assert [invoice["credits"] for invoice in invoices] == [2_500, 0]
    assert (switched["balance"], switched["pending_credits"]) == (100_000 - 7_500 + 2_500, 0)
    # and the open day keeps its length; the next cycle runs to the 1st of a month
    assert open_cycle(switched) == (days[2], days[3])
    first_of_month = (days[3].replace(day=1) + timedelta(days=32)).replace(day=1)
    assert close_at(container, funded, first_of_month) == [
        (days[2], days[3]),
        (days[3], first_of_month),
    ]
    assert funded.client.get("/v1/float").json()["balance"] == 100_000 - 7_500 + 2_500


def test_a_refund_by_lines_follows_the_link_rules_and_kills_the_links_it_refunds(
    funded: Api,
) -> None:
    # given two links, one opened and spent by its consumer
    order = gift_card_order(funded, quantity=2)
    line = order["lines"][0]
    spent, fresh = line["links"]
    assert funded.client.post(f"/v1/links/{spent['id']}/spend", json={"amount": 2500}).is_success
    # when both units are refunded by line
    both = funded.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": line["id"], "quantity": 2}]},
    )
    # then it is refused: the spent link's value is with the consumer
    assert both.status_code == 409, both.text
    assert both.json()["type"].endswith("/refund-quantity-exceeded")
    assert both.json()["refundable_quantity"] == 1
    # when the one refundable unit is refunded
    one = funded.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "Not needed"},
    )
    assert one.status_code == 201, one.text
    # then the fresh link is dead for good and the spent one untouched
    links = funded.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"]
    assert [link["state"] for link in links] == ["spent", "cancelled"]
    assert funded.client.get(fresh["url"]).status_code == 410
    assert (
        funded.client.post(f"/v1/links/{fresh['id']}/spend", json={"amount": 1}).status_code == 409
    )


def test_a_full_refund_gives_back_only_the_links_that_could_be_cancelled(funded: Api) -> None:
    # given three links: one opened, two untouched
    order = gift_card_order(funded, quantity=3)
    opened = order["lines"][0]["links"][0]
    assert funded.client.get(opened["url"]).status_code == 200
    # when everything is refunded (an empty body)
    made = funded.client.post(f"/v1/orders/{order['id']}/refund", json={})
    # then only the two untouched links' value comes back, and they are cancelled
    assert made.status_code == 201, made.text
    assert made.json()["lines"] == [{**made.json()["lines"][0], "quantity": 2, "amount": 5000}]
    links = funded.client.get(f"/v1/orders/{order['id']}").json()["lines"][0]["links"]
    assert [link["state"] for link in links] == ["accessed", "cancelled", "cancelled"]


def test_a_full_refund_with_nothing_refundable_left_is_refused_not_a_zero_refund(
    funded: Api,
) -> None:
    order = gift_card_order(funded, quantity=1)
    link = order["lines"][0]["links"][0]
    assert funded.client.get(link["url"]).status_code == 200  # the consumer opened it
    response = funded.client.post(f"/v1/orders/{order['id']}/refund", json={})
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/refund-exceeds-refundable")
    assert funded.client.get(f"/v1/orders/{order['id']}/refunds").json()["data"] == []


def test_a_manual_adjustment_moves_the_balance_says_why_and_shows_on_the_statement(
    funded: Api, container: Container
) -> None:
    # given a funded float (100,000)
    # when support corrects it down, with a reason
    down = funded.client.post(
        "/v1/float/adjustments", json={"amount": -1500, "note": "Duplicate top-up reversed"}
    )
    assert down.status_code == 201, down.text
    assert down.json()["balance"] == 100_000 - 1500
    # then a correction below zero, one of zero or one without a reason is refused
    too_far = funded.client.post(
        "/v1/float/adjustments", json={"amount": -1_000_000, "note": "oops"}
    )
    assert too_far.status_code == 409
    assert too_far.json()["type"].endswith("/float-insufficient")
    for bad in ({"amount": 0, "note": "nothing"}, {"amount": 10, "note": "  "}):
        assert funded.client.post("/v1/float/adjustments", json=bad).status_code == 422
    assert funded.client.get("/v1/float").json()["balance"] == 100_000 - 1500
    # and the next statement carries it
    close_cycles(container, funded, days_ahead=2)
    statements = funded.client.get("/v1/invoices").json()["data"]
    assert sorted(statement["adjustments"] for statement in statements) == [-1500, 0]
