"""Seed 000, steps 1-5, in Chromium: find a gift-card order in Customer Service, read its
links' states, and cancel one untouched link with More options > Cancel order item. At
desktop and phone width (a phone folds the links' Accessed and Expired columns into the
state, and the items' counts under the item)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.order import Customer, LineKind, NewLine, Order, PaymentMethod
from refundry.domain.staff import Role
from refundry.services import transactions
from refundry.services.handlers import merchant_float, orders, staff
from refundry.services.handlers.merchants import create_merchant
from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    is_phone,
    screenshot_at,
    sign_in,
    summary_row,
)

EMAIL = "support@acme-connect.example"
PASSWORD = "correct horse battery"


def seed(database: str) -> Order:
    """A merchant with a float, its support user, and three EUR 25 gift-card links."""
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Acme Connect")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(uow, merchant_id, EMAIL, PASSWORD, role=Role.ADMIN),
    )
    transactions.run(
        uow_factory,
        lambda uow: merchant_float.open_float(uow, merchant_id, "EUR", InvoiceCycle.MONTHLY),
    )
    transactions.run(
        uow_factory,
        lambda uow: merchant_float.top_up_float(uow, merchant_id, 100_000),
    )
    order = transactions.run(
        uow_factory,
        lambda uow: orders.ingest_order(
            uow,
            orders.PlaceOrder(
                merchant_id,
                f"CONNECT-{uuid.uuid4().hex[:6]}",
                Customer("rewards@acme-corp.example"),
                "EUR",
                [NewLine("GIFT-25", "Gift card link EUR 25", LineKind.GIFT_CARD_LINK, 3, 2500)],
                payment_method=PaymentMethod.FLOAT,
            ),
        ),
    )
    container.engine.dispose()
    return order


@AT_BOTH_WIDTHS
def test_seed_000_cancel_an_untouched_gift_card_link(
    page: Page, database: str, server: str, width: int
) -> None:
    order = seed(database)
    at_width(page, width)
    # a consumer has opened the first link
    assert httpx.get(f"{server}/l/{order.links[0].token}").status_code == 200

    sign_in(page, server, EMAIL, PASSWORD)

    # 1. "Your Orders" > "Customer Service": enter the order ID, Search, click the order
    page.get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Customer Service")).to_be_visible()
    page.get_by_label("Order ID, external ID or customer e-mail").fill(str(order.id))
    page.get_by_role("button", name="Search").click()
    assert_accessible(page, "orders list")
    page.get_by_role("link", name=order.external_id or str(order.id)).click()

    # 2. the order's details
    expect(page.get_by_role("heading", name=f"Order {order.external_id}")).to_be_visible()
    expect(page.get_by_text("rewards@acme-corp.example")).to_be_visible()

    # 3. the gift-card links: accessed? expired?
    first, second = page.locator("tr[data-link='1']"), page.locator("tr[data-link='2']")
    expect(first).to_contain_text("accessed", use_inner_text=True)
    # what the agent sees: the Accessed column, or on a phone the same folded into the state
    expect(first).to_contain_text("opened " if is_phone(width) else "Yes, ", use_inner_text=True)
    expect(second).to_contain_text("issued", use_inner_text=True)
    expect(second).to_contain_text("not opened" if is_phone(width) else "No", use_inner_text=True)
    assert_fits_the_screen(page, "gift-card order")
    first.get_by_text("More options").click()
    expect(first).to_contain_text("was opened by the customer on")  # plain words, no id
    expect(first).to_contain_text("so it can no longer be canceled")
    assert_accessible(page, "gift-card order with a link's menu open")
    page.get_by_role("heading", name="Gift card links").click()  # closes the menu

    # 4. More options > Cancel order item, on the untouched link
    second.get_by_text("More options").click()
    second.get_by_role("button", name="Cancel order item").click()

    # 5. the confirmation says it cannot be undone; confirm
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("cannot be undone")
    expect(dialog).to_contain_text("refunded to your float at the end of the invoice cycle")
    dialog.get_by_label("Reason").fill("Employee left the company")
    assert_accessible(page, "cancel order item dialog")
    dialog.get_by_role("button", name="Confirm order item cancellation").click()

    expect(page.get_by_role("status")).to_contain_text(
        "refunded to your float at the end of the invoice cycle"
    )
    expect(page.locator("tr[data-link='2']")).to_contain_text("Canceled")
    # the float is credited when the invoice cycle closes: that is what the order says,
    # not a refund processing that the page would poll for weeks (issue 21, item 5)
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text("partly canceled")
    expect(title).to_contain_text("credit due at invoice close")
    expect(title).not_to_contain_text("refund processing")
    expect(page.locator("#refunds")).to_contain_text("Credit due at invoice close")
    expect(page.locator("#refunds[hx-trigger]")).to_have_count(0)
    items = page.get_by_role("region", name="Items")
    if is_phone(width):  # the counts fold under the item
        expect(items).to_contain_text("1 canceled", use_inner_text=True)
        expect(items).not_to_contain_text("refunded", use_inner_text=True)
    else:
        cells = items.get_by_role("row").nth(1).get_by_role("cell")
        expect(cells.nth(4)).to_have_text("0")  # Refunded
        expect(cells.nth(5)).to_have_text("1")  # Canceled: the link, whatever its money did
    # the summary: the canceled link's cost is a credit due to the float, said so
    summary = page.get_by_role("region", name="Summary")
    expect(summary_row(page, "Credit due at invoice close")).to_contain_text("-€25.00")
    expect(summary_row(page, "Net payment")).to_contain_text("€50.00")
    expect(summary).to_contain_text("Canceled items are refunded: €25.00 of the refunds")
    expect(page.locator("tr[data-link='1']")).to_contain_text("accessed")
    assert_accessible(page, "order after an item cancel")
    assert_fits_the_screen(page, "order after an item cancel")
    screenshot_at(page, "seed-000-cancel-order-item", width)

    container = bootstrap(Settings(database_url=database))
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    container.engine.dispose()
    assert [link.cancelled_at is not None for link in stored.links] == [False, True, False]
    assert stored.links[1].cancel_reason == "Employee left the company"
    assert stored.links[1].cancelled_at is not None
    assert stored.links[1].cancelled_at <= datetime.now(UTC)
