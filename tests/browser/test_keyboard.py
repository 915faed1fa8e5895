"""The dashboard by keyboard: a skip link first, and Esc closing a "More options" menu."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
