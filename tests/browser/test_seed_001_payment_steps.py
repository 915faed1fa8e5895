"""Seed 001's payment steps, in Chromium, as written: "1. Click on the gear icon in the
payment section. 2. Turn off Automatic Capture. 3. Click Close. 4. Click Refund. 5. Click
Cancel Order." After them "the authorization will be removed": the payment section shows
the hold before (authorized, with its expiry) and after (removal requested, then
removed), and the timeline says when Klarna confirmed it. At desktop and phone width."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.money import Money
from refundry.domain.order import CaptureMode, Customer, LineKind, NewLine, Order, PaymentMethod
from refundry.domain.payments import Authorization, ProviderRefund, RefundInstruction
from refundry.domain.staff import Role
from refundry.services import transactions
from refundry.services.handlers import orders, staff
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.provider_work import ProviderWork, process_outbox
from refundry.services.ports.payment_providers import ProviderRegistry
from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    is_phone,
    screenshot_path,
    sign_in,
    summary_row,
)

ADMIN = "owner@finqu-shop.example"
PASSWORD = "correct horse battery"


class Klarna:
    """The outside world: Klarna's Order Management API, which accepts the release."""

    name = "klarna"

    def __init__(self) -> None:
        self.voided: list[str] = []

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise AssertionError("not called: the checkout authorized the order")

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        raise AssertionError("not called: a cancelled order is never captured")

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        self.voided.append(payment_reference)

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        raise AssertionError("not called: nothing was captured")

    def fetch_refund(self, reference: str) -> ProviderRefund:
        raise AssertionError("not called: nothing was captured")


def seed(database: str) -> Order:
    """A Klarna order the checkout only authorized (a hold of 28 days), and an admin."""
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Finqu Shop")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(uow, merchant_id, ADMIN, PASSWORD, role=Role.ADMIN),
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
                payment_method=PaymentMethod.KLARNA,
                capture_mode=CaptureMode.MANUAL,
                payment_reference="klarna-order-7f3a",
            ),
        ),
    )
    container.engine.dispose()
    return order


def klarna_confirms_the_void(database: str) -> list[str]:
    """The worker's turn: it asks Klarna to release the hold and records the answer."""
    container = bootstrap(Settings(database_url=database))
    klarna = Klarna()
    registry = ProviderRegistry({PaymentMethod.KLARNA: klarna})
    process_outbox(ProviderWork(container.uow_factory, registry))
    container.engine.dispose()
    return klarna.voided


def automatic_capture(database: str, order: Order) -> bool:
    container = bootstrap(Settings(database_url=database))
    merchant = transactions.read(
        container.uow_factory, lambda uow: uow.merchants.get(order.merchant_id)
    )
    container.engine.dispose()
    assert merchant is not None
    return merchant.automatic_capture


@AT_BOTH_WIDTHS
def test_seed_001_payment_steps_remove_the_authorization(
    browser: Browser, database: str, server: str, width: int
) -> None:
    order = seed(database)
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="en-GB")
    page = context.new_page()
    shot = f"seed-001-payment-{'phone' if is_phone(width) else 'desktop'}"
    sign_in(page, server, ADMIN, PASSWORD)
    page.get_by_role("link", name="Orders").click()
    page.get_by_role("link", name=order.external_id or str(order.id)).click()
    payment = page.locator("section#payment")
    # before: Klarna holds the money, until the hold lapses in 28 days
    expect(payment).to_contain_text("Authorized: held, not captured")
    expect(payment).to_contain_text("28 days left")
    expect(payment).to_contain_text("Klarna")
    assert_accessible(page, "order with a hold")
    page.screenshot(path=screenshot_path(f"{shot}-1-hold"), full_page=True)
    # 1. the gear icon in the payment section
    payment.get_by_role("button", name="Payment settings").click()
    settings = page.get_by_role("dialog", name="Payment settings")
    switch = settings.get_by_role("switch", name="Automatic capture")
    expect(switch).to_be_checked()
    # 2. turn off Automatic Capture (saved as it is flipped)
    switch.click()
    expect(settings.get_by_role("status")).to_contain_text("automatic capture is off")
    assert_accessible(page, "payment settings")
    page.screenshot(path=screenshot_path(f"{shot}-2-settings"))
    # 3. Close
    settings.get_by_role("button", name="Close").click()
    expect(settings).to_be_hidden()
    assert automatic_capture(database, order) is False
    # 4. Refund: a hold has nothing to refund; cancelling the order removes it
    payment.get_by_role("button", name="Refund", exact=True).click()
    refund = page.get_by_role("dialog", name="Refund")
    expect(refund).to_contain_text("Nothing is captured on this order")
    assert_accessible(page, "refund of a hold")
    page.screenshot(path=screenshot_path(f"{shot}-3-refund"))
    # 5. Cancel Order, confirmed as in steps 3-6 (Canceled, no reason)
    refund.get_by_role("button", name="Cancel order").click()
    confirm = page.get_by_role("dialog", name="Cancel this order?")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("The order is canceled.")
    # after: the removal is asked of Klarna ...
    expect(payment).to_contain_text("Removal requested from Klarna")
    expect(payment.get_by_role("button", name="Refund", exact=True)).to_have_count(0)
    page.screenshot(path=screenshot_path(f"{shot}-4-removal-requested"), full_page=True)
    # ... which confirms it: "the authorization will be removed"
    assert klarna_confirms_the_void(database) == ["klarna-order-7f3a"]
    page.reload()
    expect(payment).to_contain_text("Removed: the hold is released")
    expect(payment).to_contain_text("No longer applies: removed")
    items = page.get_by_role("region", name="Items")
    if is_phone(width):  # the counts fold under the item
        expect(items).to_contain_text("2 canceled")
    else:
        cells = items.get_by_role("row").nth(1).get_by_role("cell")
        expect(cells.nth(4)).to_have_text("0")  # Refunded: nothing was captured
        expect(cells.nth(5)).to_have_text("2")  # Canceled
    timeline = page.get_by_role("region", name="Timeline")
    removed = timeline.get_by_role("row").filter(has_text="Authorization removed")
    expect(removed).to_contain_text("Klarna")
    expect(removed).to_contain_text("The hold of €98.95 is released to the customer")
    # the summary: nothing was captured, so nothing is refunded
    summary = page.get_by_role("region", name="Summary")
    expect(summary_row(page, "Paid")).to_contain_text("€0.00")
    expect(summary_row(page, "Net payment")).to_contain_text("€0.00")
    expect(summary).to_contain_text("2 canceled items were never paid for")
    assert_accessible(page, "order whose hold is removed")
    page.screenshot(path=screenshot_path(f"{shot}-5-removed"), full_page=True)
    assert_fits_the_screen(page, "the order whose hold is removed")
    context.close()


def test_a_capture_switch_the_server_refuses_goes_back_and_says_so(
    browser: Browser, database: str, server: str
) -> None:
    order = seed(database)
    page = browser.new_context(viewport={"width": 1280, "height": 844}).new_page()
    sign_in(page, server, ADMIN, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}")
    # given the server will not take the change (an outage, here)
    page.route("**/dashboard/payment-settings", lambda route: route.fulfill(status=503))
    page.locator("section#payment").get_by_role("button", name="Payment settings").click()
    settings = page.get_by_role("dialog", name="Payment settings")
    switch = settings.get_by_role("switch", name="Automatic capture")
    # when the admin flips the switch
    switch.click()
    # then it goes back and says it was not saved
    expect(settings.get_by_role("status")).to_contain_text("Not saved")
    expect(switch).to_be_checked()
    assert automatic_capture(database, order) is True
