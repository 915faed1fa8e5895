"""The order page's summary card on the demo's orders, as the page shows it: the rows add
up (Subtotal - Discounts + Shipping + Tax = Total; Paid - Refunded - Refund processing =
Net payment), each is the order's own figure, and a cancel reads as the refund it is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Order
from refundry.domain.refund import RefundKind
from refundry.entrypoints.api.app import create_app
from refundry.entrypoints.demo_data import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_API_KEY_SECRET,
    seed_demo,
)
from refundry.services import transactions

ROW = re.compile(
    r'<tr(?: class="(?P<kind>part|sum)")?><th scope="row">(?P<label>[^<]*)'
    r'.*?</th><td class="num">(?P<amount>[^<]*)</td></tr>'
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, list[Order]]]:
    """The demo's shop (`refundry demo`), its admin signed in."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('demo')) / 'demo.db'}"
    container = bootstrap(
        Settings(database_url=url, dashboard_secure_cookies=False, sign_in_attempts_per_minute=0)
    )
    summary = seed_demo(container.uow_factory, container.quotes, api_secret=DEMO_API_KEY_SECRET)
    orders = transactions.read(
        container.uow_factory,
        lambda uow: uow.orders.search(summary.merchant_id, None, limit=500, offset=0),
    )
    with TestClient(create_app(container)) as client:
        signed_in = client.post(
            "/dashboard/login",
            data={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        yield client, orders
    container.engine.dispose()


def summary_card(client: TestClient, order: Order) -> list[list[tuple[str, str, int]]]:
    """The card's two tables as (kind, label, amount in minor units) rows, en-GB."""
    page = client.get(f"/dashboard/orders/{order.id}")
    assert page.status_code == 200
    card = page.text.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    tables = []
    for table in card.split("</table>")[:-1]:
        rows = []
        for row in ROW.finditer(table):
            shown = row["amount"].replace("€", "").replace(",", "")
            rows.append((row["kind"] or "", row["label"].strip(), int(Decimal(shown) * 100)))
        tables.append(rows)
    return tables


def added(rows: list[tuple[str, str, int]]) -> tuple[int, int]:
    """The sum of the rows above the sum's row (parts are not added), and the sum's row."""
    [total] = [amount for kind, _, amount in rows if kind == "sum"]
    return sum(amount for kind, _, amount in rows if not kind), total


def test_the_rows_add_up_on_every_demo_order_with_discounts_and_tax(
    demo: tuple[TestClient, list[Order]],
) -> None:
    client, orders = demo
    # given the demo's orders with a discount and tax (prices are tax-exclusive)
    checked = [order for order in orders if order.discount.minor and order.tax.minor]
    assert len(checked) >= 10
    for order in checked:
        # when the order page is read
        sold, paid = summary_card(client, order)
        shown = {label: amount for _, label, amount in sold}
        # then Subtotal - Discounts + Shipping + Tax = Total, each the order's own figure
        assert added(sold) == (order.total.minor, order.total.minor), order.external_id
        assert (shown["Subtotal"], shown["Discounts"], shown["Shipping"], shown["Tax"]) == (
            order.subtotal.minor,
            -order.discount.minor,
            order.shipping.amount.minor,
            order.tax.minor,
        )
        # and what was paid less what went back is the net payment
        net = order.payment.captured.minor - order.refunded.minor
        assert added(paid) == (net, net), order.external_id


def test_a_cancelled_paid_order_reads_as_refunded_and_says_the_items_were_cancelled(
    demo: tuple[TestClient, list[Order]],
) -> None:
    client, orders = demo
    cancelled = [
        order
        for order in orders
        if order.status.value == "cancelled" and order.payment.captured.minor
        and any(refund.kind is RefundKind.CANCELLATION for refund in order.refunds)
    ]  # fmt: skip
    assert cancelled
    order = cancelled[0]
    _, paid = summary_card(client, order)
    refunds = {label: amount for kind, label, amount in paid if not kind and label != "Paid"}
    assert sum(refunds.values()) == -order.payment.captured.minor
    assert added(paid) == (0, 0)
    page = client.get(f"/dashboard/orders/{order.id}").text
    assert "Canceled items are refunded" in page
