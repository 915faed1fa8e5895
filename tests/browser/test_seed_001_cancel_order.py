"""Seed 001, steps 1-6, in Chromium: Sales > open an unfulfilled order > Cancel Order >
the status after cancellation (Canceled by default) > a reason > Confirm. The cancel
records a refund of the captured money (the sales report stays right) and restocks; the
order's summary shows that money refunded. At desktop and phone width."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Customer, LineKind, NewLine, Order
from refundry.domain.staff import Permission, Role
from refundry.services import transactions
from refundry.services.handlers import orders, staff, stock
from refundry.services.handlers.merchants import create_merchant, update_merchant
from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    screenshot_at,
    sign_in,
    summary_row,
)

EMAIL = "clerk@finqu-shop.example"
PASSWORD = "correct horse battery"


def seed(database: str) -> Order:
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Finqu Shop")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: update_merchant(
            uow, merchant_id, cancel_labels=["Refused", "At the customer's request"]
        ),
    )
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow,
            merchant_id,
            EMAIL,
            PASSWORD,
            role=Role.STAFF,
            permissions=(Permission.CANCEL, Permission.REFUND),
        ),
    )
    transactions.run(
        uow_factory,
        lambda uow: stock.set_stock(uow, merchant_id=merchant_id, sku="LAMP", on_hand=10),
    )
    order = transactions.run(
        uow_factory,
        lambda uow: orders.ingest_order(
            uow,
            orders.PlaceOrder(
                merchant_id,
                f"SALE-{uuid.uuid4().hex[:6]}",
                Customer("olli@example.fi"),
                "EUR",
                [NewLine("LAMP", "Desk lamp", LineKind.PHYSICAL, 2, 3990, 0, 1915)],
            ),
        ),
    )
    container.engine.dispose()
    return order


@AT_BOTH_WIDTHS
def test_seed_001_cancel_an_unfulfilled_order(
    page: Page, database: str, server: str, width: int
) -> None:
    order = seed(database)
    at_width(page, width)
    sign_in(page, server, EMAIL, PASSWORD)
    # 1-2. Sales (Orders); open the order
    page.get_by_role("link", name="Orders").click()
    page.get_by_role("link", name=order.external_id or str(order.id)).click()
    assert_accessible(page, "paid order")
    # 3. the Cancel Order button at the top of the order page
    page.get_by_role("button", name="Cancel order").first.click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("cannot be undone")
    # 4. the status after cancellation: Canceled by default
    status = dialog.get_by_label("Order status after cancellation")
    expect(status).to_have_value("cancelled")
    status.select_option(label="At the customer's request")
    # 5. a reason (optional)
    dialog.get_by_label("Reason (optional)").fill("Ordered the wrong colour")
    assert_accessible(page, "cancel order dialog")
    # 6. Confirm
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("The order is canceled.")
    expect(page.get_by_role("heading", name=f"Order {order.external_id}")).to_contain_text(
        "At the customer's request"
    )
    refunds = page.locator("section", has=page.get_by_role("heading", name="Refunds"))
    expect(refunds).to_contain_text("cancellation")
    expect(refunds).to_contain_text("Ordered the wrong colour")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    # the summary: the cancelled lamps' money goes back (the provider has not settled it
    # yet), nothing is kept
    summary = page.get_by_role("region", name="Summary")
    expect(summary_row(page, "Total")).to_contain_text("€98.95")
    expect(summary_row(page, "Refund processing")).to_contain_text("-€98.95")
    expect(summary_row(page, "Net payment")).to_contain_text("€0.00")
    expect(summary).to_contain_text("Canceled items are refunded: €98.95 of the refunds")
    assert_accessible(page, "cancelled order")
    assert_fits_the_screen(page, "cancelled order")
    screenshot_at(page, "seed-001-order-cancelled", width)

    container = bootstrap(Settings(database_url=database))
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    [on_hand] = transactions.read(
        container.uow_factory, lambda uow: uow.stock.list(order.merchant_id, ["LAMP"])
    )
    container.engine.dispose()
    assert stored.status.value == "cancelled"
    assert stored.status_label == "At the customer's request"  # the merchant's own label
    assert [refund.kind.value for refund in stored.refunds] == ["cancellation"]
    assert stored.refunded == stored.payment.captured
    assert on_hand.on_hand == 10  # the two lamps are back on the shelf
