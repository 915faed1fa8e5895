"""Seed 003, steps 1-8, in Chromium: find a customer's order by e-mail, Action > Refund,
Edit refund (articles and a description), Review refund, back with Edit refund to fix the
quantity, review again, Refund; the order then shows the refund processing. At desktop
and phone width."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Customer, LineKind, NewLine, Order
from refundry.domain.staff import Permission, Role
from refundry.services import transactions
from refundry.services.handlers import orders, staff
from refundry.services.handlers.merchants import create_merchant
from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    screenshot_at,
    sign_in,
    summary_row,
)

ADMIN = "owner@tea-house.example"
AGENT = "agent@tea-house.example"
PASSWORD = "correct horse battery"


def seed(database: str) -> Order:
    """A shop whose admin granted an agent the refund permission, and a card order."""
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Tea House")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(uow, merchant_id, ADMIN, PASSWORD, role=Role.ADMIN),
    )
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, AGENT, PASSWORD, permissions=(Permission.REFUND,)
        ),
    )
    order = transactions.run(
        uow_factory,
        lambda uow: orders.ingest_order(
            uow,
            orders.PlaceOrder(
                merchant_id,
                f"TEA-{uuid.uuid4().hex[:6]}",
                Customer("mia@example.com"),
                "EUR",
                [
                    NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 2, 1290, 258, 464),
                    NewLine("POT", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, 0, 1098),
                ],
                shipping_amount=490,
                shipping_tax=98,
            ),
        ),
    )
    container.engine.dispose()
    return order


def summary_as_shown(page: Page) -> list[list[tuple[str, str, int]]]:
    """The Summary card's two tables as the reader sees them: (row kind, title, amount in
    cents) per row; a "part" row says how the row above splits, a "sum" row is the sum."""
    tables = page.locator("#summary table.sums").evaluate_all(
        """tables => tables.map(t => [...t.rows].map(
            r => [r.className, r.cells[0].innerText.trim(), r.cells[1].innerText.trim()]))"""
    )
    return [
        [(kind, title, round(float(shown.replace("€", "").replace(",", "")) * 100))
         for kind, title, shown in rows]
        for rows in tables
    ]  # fmt: skip


@AT_BOTH_WIDTHS
def test_seed_003_partial_refund_with_review_and_edit(
    page: Page, database: str, server: str, width: int
) -> None:
    order = seed(database)
    at_width(page, width)
    # 1. log in
    sign_in(page, server, AGENT, PASSWORD)
    # 2-4. Orders; search the customer by e-mail; open the order
    page.get_by_role("link", name="Orders").click()
    page.get_by_label("Order ID, external ID or customer e-mail").fill("mia@example.com")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=order.external_id or str(order.id)).click()
    # 5. Action > Refund: the articles and their prices, full refund or Edit refund
    page.get_by_text("More options").first.click()
    page.get_by_role("link", name="Refund", exact=True).click()
    window = page.get_by_role("dialog", name="Refund")
    expect(window).to_contain_text("Stoneware mug")
    expect(window).to_contain_text("€12.90")
    expect(window).to_contain_text("Cast-iron teapot")
    expect(page.get_by_role("button", name="Full refund")).to_be_visible()
    assert_accessible(page, "refund")
    page.get_by_role("button", name="Edit refund").click()
    # 6. choose the articles, a description, Review refund
    page.get_by_label("Stoneware mug").fill("2")
    page.get_by_label("Description").fill("Arrived chipped")
    assert_accessible(page, "edit refund")
    # the quantity boxes are whole on the screen (a phone's were cut at the table's edge)
    for box in page.locator("input[type=number]").all():
        assert box.evaluate(
            "b => { const r = b.getBoundingClientRect(); const t = b.closest('section')"
            ".getBoundingClientRect(); return r.left >= t.left && r.right <= t.right; }"
        ), "a quantity box is cut off"
    assert_fits_the_screen(page, "edit refund")
    screenshot_at(page, "seed-003-edit-refund", width, full_page=False)
    page.get_by_role("button", name="Review refund").click()
    # 7. the exact amounts; one mug was wrong: Edit refund, fix, review again
    expect(page.locator("#refund-total")).to_have_text("€27.86")
    page.get_by_role("button", name="Edit refund").click()
    expect(page.get_by_label("Description")).to_have_value("Arrived chipped")
    page.get_by_label("Stoneware mug").fill("1")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    assert_accessible(page, "refund review")
    page.get_by_role("button", name="Refund", exact=True).click()
    # 8. done: the order shows the refund processing
    expect(page.get_by_role("status")).to_contain_text("processing")
    expect(page.get_by_role("heading", name=f"Order {order.external_id}")).to_contain_text(
        "refund processing"
    )
    expect(page.get_by_text("Arrived chipped").first).to_be_visible()
    # the timeline says who refunded and why
    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline).to_contain_text(AGENT)
    expect(timeline).to_contain_text("Refund of €13.93")
    # the summary: the refund is processing, not yet refunded, and leaves the rest paid
    expect(summary_row(page, "Refunded")).to_contain_text("€0.00")
    expect(summary_row(page, "Refund processing")).to_contain_text("-€13.93")
    expect(summary_row(page, "Net payment")).to_contain_text("€85.69")
    # and its rows, as the card shows them, add up: the discounted mugs, the tax, shipping
    sold, paid = summary_as_shown(page)
    assert sold == [
        ("", "Subtotal · 3 items", 8070),
        ("", "Discounts", -258),
        ("", "Shipping", 490),
        ("", "Tax · added to the prices", 1660),
        ("sum", "Total", 9962),
    ]
    assert sum(amount for kind, _, amount in sold if not kind) == 9962
    assert sum(amount for kind, _, amount in paid if not kind) == paid[-1][2] == 8569
    assert_accessible(page, "order with a refund processing")
    assert_fits_the_screen(page, "order with a refund processing")
    screenshot_at(page, "seed-003-refund-processing", width)

    container = bootstrap(Settings(database_url=database))
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    container.engine.dispose()
    [refund] = stored.refunds
    assert (refund.amount.minor, refund.reason) == (1393, "Arrived chipped")
    assert refund.created_by.startswith("staff:")
