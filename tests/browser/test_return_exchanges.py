"""A return refunded to store credit, and one exchanged, in Chromium (issue 19): the store
credit shows in the customer's Account History (seed 002), the exchange places the
replacement and refunds the difference, and Sales > Returns lists a cancelled order's refund
beside the returns (seed 001)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import LineKind, NewLine, Order, ReturnLineRequest
from refundry.domain.returns import ReceivedUnits
from refundry.services import transactions
from refundry.services.handlers import cancellation, orders, returns
from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_returns import AGENT, PASSWORD, seed


def received(database: str, order: Order, line: int) -> uuid.UUID:
    """A return of one unit of the order's line ``line``, received resellable."""
    container = bootstrap(Settings(database_url=database))
    line_id = order.lines[line].id
    made = transactions.run(
        container.uow_factory,
        lambda uow: returns.create_return(
            uow, order.merchant_id, order.id, [ReturnLineRequest(line_id, 1, "Changed mind")],
            requested=False, restocking_fee_bp=0, return_shipping_fee=0, note=None,
            actor="system:test",
        ),
    )  # fmt: skip
    transactions.run(
        container.uow_factory,
        lambda uow: returns.receive_return(
            uow, order.merchant_id, made.order_return.id, [ReceivedUnits(line_id, 1, 0)],
            actor="system:test",
        ),
    )  # fmt: skip
    container.engine.dispose()
    return made.order_return.id


def test_a_return_refunded_to_store_credit_shows_in_account_history(
    page: Page, database: str, server: str
) -> None:
    [order] = seed(database)
    return_id = received(database, order, 0)  # one mug: 12.90 - 1.29 + 2.32 = 13.93
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/returns/{return_id}")
    page.get_by_label("Store credit").check()
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    page.get_by_role("button", name="Refund €13.93").click()
    expect(page.get_by_role("status")).to_contain_text(
        "€13.93 credited to the customer's store credit"
    )
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Account History").click()
    credit = page.locator("section", has=page.get_by_role("heading", name="Store credit"))
    expect(credit).to_contain_text("€13.93 to spend")
    expect(credit).to_contain_text("Refunded as store credit")
    page.screenshot(path=screenshot_path("returns-store-credit-history"), full_page=True)
    assert_accessible(page, "account history with store credit")


def test_an_exchange_places_the_replacement_and_refunds_the_difference(
    page: Page, database: str, server: str
) -> None:
    [order] = seed(database)
    return_id = received(database, order, 1)  # the teapot: 54.90 + 10.98 tax = 65.88
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/returns/{return_id}")
    exchange = page.locator("#exchange")
    # a row that cannot be read is refused in plain words, and nothing is written
    exchange.get_by_label("Replacement 1: item name").fill("Enamel teapot")
    exchange.get_by_label("Replacement 1: unit price (EUR, before tax)").fill("forty")
    exchange.get_by_role("button", name="Exchange").click()
    expect(exchange).to_contain_text("Replacement 1: unit price: enter an amount in EUR")
    exchange.get_by_label("Replacement 1: quantity").fill("1")
    exchange.get_by_label("Replacement 1: unit price (EUR, before tax)").fill("40.00")
    exchange.get_by_label("Replacement 1: tax (EUR, for the line)").fill("8.00")
    page.screenshot(path=screenshot_path("returns-exchange-form"), full_page=True)
    assert_accessible(page, "exchange form")
    exchange.get_by_role("button", name="Exchange").click()
    expect(page.get_by_role("status")).to_contain_text("Return exchanged")
    refund = page.locator("section", has=page.get_by_role("heading", name="Exchange", exact=True))
    expect(refund).to_contain_text("€48.00 of the return's value paid for it")
    expect(refund).to_contain_text("Difference refunded")
    expect(refund).to_contain_text("€17.88")
    page.screenshot(path=screenshot_path("returns-exchanged"), full_page=True)
    assert_accessible(page, "exchanged return")
    page.get_by_role("link", name="the replacement order").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("paid")
    expect(page.locator("main")).to_contain_text("Enamel teapot")


def test_an_exchange_for_more_waits_for_the_customer_to_pay_the_difference(
    page: Page, database: str, server: str
) -> None:
    [order] = seed(database)
    return_id = received(database, order, 0)  # one mug: 13.93
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/returns/{return_id}")
    exchange = page.locator("#exchange")
    exchange.get_by_label("Replacement 1: item name").fill("Large mug")
    exchange.get_by_label("Replacement 1: quantity").fill("1")
    exchange.get_by_label("Replacement 1: unit price (EUR, before tax)").fill("20.00")
    exchange.get_by_role("button", name="Exchange").click()
    expect(page.get_by_role("status")).to_contain_text(
        "it waits for the customer to pay the difference"
    )
    page.get_by_role("link", name="the replacement order").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("pending")
    page.screenshot(path=screenshot_path("returns-replacement-pending"), full_page=True)


def test_sales_returns_lists_a_cancelled_orders_refund(
    page: Page, database: str, server: str
) -> None:
    [shipped] = seed(database)
    container = bootstrap(Settings(database_url=database))
    unshipped = transactions.run(
        container.uow_factory,
        lambda uow: orders.ingest_order(
            uow,
            orders.PlaceOrder(
                shipped.merchant_id,
                "TEA-CANCEL",
                shipped.customer,
                "EUR",
                [NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 1, 1290, 0, 258)],
            ),
        ),
    )
    transactions.run(
        container.uow_factory,
        lambda uow: cancellation.cancel_order(
            uow, shipped.merchant_id, unshipped.id, reason=None, status_label=None,
            actor="system:test",
        ),
    )  # fmt: skip
    container.engine.dispose()
    received(database, shipped, 0)
    sign_in(page, server, AGENT, PASSWORD)
    page.get_by_role("link", name="Returns", exact=True).click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Order canceled")
    expect(rows.nth(1)).to_contain_text("TEA-CANCEL")
    page.get_by_role("link", name="Cancellations").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("TEA-CANCEL")
    page.screenshot(path=screenshot_path("returns-list-cancellations"), full_page=True)
    assert_accessible(page, "returns list with cancellations")


def test_store_credit_exchange_and_cancellations_work_at_a_phone_width(
    browser: Browser, database: str, server: str
) -> None:
    [order] = seed(database)
    return_id = received(database, order, 1)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/returns/{return_id}")
    for check in ("received return", "after the exchange"):
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {check} page scrolls sideways by {overflow}px"
        page.screenshot(
            path=screenshot_path(f"phone-returns-{check.replace(' ', '-')}"), full_page=True
        )
        assert_accessible(page, f"phone {check}")
        if check == "received return":
            exchange = page.locator("#exchange")
            exchange.get_by_label("Replacement 1: item name").fill("Enamel teapot")
            exchange.get_by_label("Replacement 1: unit price (EUR, before tax)").fill("20.00")
            exchange.get_by_role("button", name="Exchange").click()
            expect(page.get_by_role("status")).to_contain_text("Return exchanged")
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Account History").click()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"Account History scrolls sideways by {overflow}px"
    page.screenshot(path=screenshot_path("phone-account-history-store-credit"), full_page=True)
    context.close()
