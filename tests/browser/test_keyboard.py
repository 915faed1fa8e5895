"""The dashboard by keyboard: a skip link first, Esc closing a "More options" menu, and a
refund made from the order page with the keyboard alone."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.services import transactions
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.test_seed_003_refund import AGENT, PASSWORD, seed


def test_the_first_tab_offers_skip_to_content_and_esc_closes_a_menu(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    page.goto(f"{server}/dashboard/login")
    assert_accessible(page, "sign-in")
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}")
    # the first Tab reaches "Skip to content", shown; Enter moves on to the page's content
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # More options opens from the keyboard, and Esc closes it, back on its button
    menu = page.locator("#order-menu")
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Refund", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()


def tab_to(page: Page, target: Locator, *, limit: int = 60) -> None:
    """Tab until ``target`` has the focus, as a person would (the page's order decides)."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def test_a_refund_from_the_order_page_by_keyboard_alone(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}")
    # More options, then Refund in it
    menu = page.locator("#order-menu")
    tab_to(page, menu.locator("summary"))
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Refund", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Refund", exact=True)).to_be_visible()
    assert_accessible(page, "refund, by keyboard")
    # Edit refund (Space presses a button too)
    tab_to(page, page.get_by_role("button", name="Edit refund"))
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", name="Edit refund")).to_be_visible()
    # one mug, by the arrow key; the running total follows
    mug = page.get_by_label("Stoneware mug", exact=True)
    tab_to(page, mug)
    page.keyboard.press("ArrowUp")
    expect(mug).to_have_value("1")
    expect(page.locator("#running-total")).to_have_text("€13.93")
    assert_accessible(page, "edit refund, by keyboard")
    tab_to(page, page.get_by_role("button", name="Review refund"))
    page.keyboard.press("Enter")
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    assert_accessible(page, "review refund, by keyboard")
    # Shift+Tab from Refund reaches Edit refund beside it; Tab comes back
    refund_button = page.get_by_role("button", name="Refund", exact=True)
    tab_to(page, refund_button)
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Edit refund")).to_be_focused()
    page.keyboard.press("Tab")
    expect(refund_button).to_be_focused()
    page.keyboard.press("Enter")
    # the refund landed: the order says so and lists it
    expect(page.get_by_role("status")).to_contain_text("Refund made")
    expect(page.locator("#refunds")).to_contain_text("€13.93")
    assert_accessible(page, "the order after a refund by keyboard")
    container = bootstrap(Settings(database_url=database))
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    container.engine.dispose()
    assert [refund.amount.minor for refund in stored.refunds] == [1393]
