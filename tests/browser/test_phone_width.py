"""The dashboard on a phone's width: no page scrolls sideways, and an order can still be
found and refunded."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_003_refund import ADMIN, AGENT, PASSWORD, seed


def test_the_dashboard_works_at_a_phone_width(browser: Browser, database: str, server: str) -> None:
    order = seed(database)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    for path in ("/dashboard/orders", f"/dashboard/orders/{order.id}"):
        page.goto(f"{server}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        assert_accessible(page, f"phone {path}")
    # amounts follow the reader's locale (German here)
    expect(page.get_by_text("99,62 €").first).to_be_visible()
    page.get_by_role("link", name="Refund order").click()
    page.get_by_role("button", name="Full refund").click()
    expect(page.locator("#refund-total")).to_have_text("99,62 €")
    assert_accessible(page, "phone refund review")
    page.screenshot(path=screenshot_path("phone-refund-review"), full_page=True)
    # the order with its refund, whose reason widens the refunds and timeline tables past
    # the screen: they scroll in their own box, which the keyboard reaches
    page.goto(f"{server}/dashboard/orders/{order.id}/refund/edit")
    page.get_by_label("Stoneware mug").fill("1")
    page.get_by_label("Description").fill("Arrived chipped; the customer sent photographs")
    page.get_by_role("button", name="Review refund").click()
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Refund made")
    assert_accessible(page, "phone order with a refund")
    context.close()


def test_on_a_phone_the_navigation_is_one_row_under_the_name(
    browser: Browser, database: str, server: str
) -> None:
    seed(database)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, server, ADMIN, PASSWORD)
    nav = page.get_by_role("navigation", name="Dashboard")
    links = nav.get_by_role("link")
    # every link on one row (it took three lines), the row scrolling sideways
    tops = {round(box["y"]) for box in (link.bounding_box() for link in links.all()) if box}
    assert len(tops) == 1, tops
    assert nav.evaluate("row => row.scrollWidth > row.clientWidth")
    # and the last link is still reached and followed
    links.last.click()
    expect(page).to_have_url(f"{server}/dashboard/team")
    context.close()
