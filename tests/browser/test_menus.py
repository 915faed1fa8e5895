"""More options menus open inside the screen: the last gift-card link's menu is not cut
off by its card, and on a phone the order's menu does not open off the left edge. An
action that cannot be used now stays in its menu, disabled and muted, out of the Tab
order, with why under it, read as its description."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_000_cancel_item import EMAIL, PASSWORD, seed

# True when the element lies wholly in the viewport and nothing clips or covers it:
# the middle of each of its edges hits the element itself.
WHOLLY_SHOWN = """(element) => {
  const box = element.getBoundingClientRect();
  const middle = [box.left + box.width / 2, box.top + box.height / 2];
  const points = [[middle[0], box.top + 2], [middle[0], box.bottom - 2],
                  [box.left + 2, middle[1]], [box.right - 2, middle[1]]];
  return box.left >= 0 && box.top >= 0 && box.right <= window.innerWidth
    && box.bottom <= window.innerHeight
    && points.every(([x, y]) => element.contains(document.elementFromPoint(x, y)));
}"""


def open_menu(page: Page, menu: Locator, name: str) -> None:
    # its button in the middle of the screen, room below it; then nothing scrolls (scrolling
    # an item into view would scroll a clipping card and hide the fault)
    menu.locator("summary").evaluate("(summary) => summary.scrollIntoView({block: 'center'})")
    menu.locator("summary").click()
    actions = menu.locator("div").get_by_role("button").or_(menu.locator("div").get_by_role("link"))
    expect(actions.first).to_be_visible()
    for action in actions.all():
        label = action.inner_text()
        assert action.evaluate(WHOLLY_SHOWN), f"{name}: {label!r} is cut off or off screen"
        if action.is_enabled():
            action.click(trial=True)  # Playwright's own check: it would receive the click
    page.screenshot(path=screenshot_path(name))


def test_menus_open_inside_the_screen_at_desktop_and_phone_width(
    browser: Browser, database: str, server: str
) -> None:
    order = seed(database)
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, server, EMAIL, PASSWORD)
        page.goto(f"{server}/dashboard/orders/{order.id}")
        # the links' card no longer scrolls (it would clip the menu): its table fits instead
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the order page scrolls sideways by {overflow}px at {width} px"
        open_menu(page, page.locator("tr[data-link='3'] details.menu"), f"menu-last-link-{width}")
        assert_accessible(page, f"gift-card order, last link's menu open, {width} px")
        page.keyboard.press("Escape")
        open_menu(page, page.locator("#order-menu"), f"menu-order-{width}")
        page.locator("#order-menu").get_by_role("button", name="Cancel order").click()
        expect(page.locator("dialog[open]")).to_contain_text("Cancel this order?")
        context.close()


def test_an_action_that_cannot_be_used_stays_in_the_menu_disabled_with_why(
    browser: Browser, database: str, server: str
) -> None:
    # given a gift-card order whose first link the consumer opened: the order can no longer
    # be canceled, nor that link, and gift-card links never come back by post
    order = seed(database)
    assert httpx.get(f"{server}/l/{order.links[0].token}").status_code == 200
    opened = "Link 1 of 3 was opened by the customer on"
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, server, EMAIL, PASSWORD)
        page.goto(f"{server}/dashboard/orders/{order.id}")
        # the page's own buttons offer only what can be done
        expect(page.locator("main").get_by_role("button", name="Cancel order")).to_have_count(0)
        menu = page.locator("#order-menu")
        open_menu(page, menu, f"menu-order-disabled-{width}")
        # each disabled entry: announced as such, muted, its reason under it as its description
        for name, why in (
            ("Create return", "Gift-card links and digital goods do not come back by post"),
            ("Cancel order", opened),
        ):
            entry = menu.get_by_role("link", name=name).or_(menu.get_by_role("button", name=name))
            expect(entry).to_be_disabled()
            expect(entry).to_have_accessible_description(re.compile(re.escape(why)))
            reason = menu.locator(f"#{entry.get_attribute('aria-describedby')}")
            expect(reason).to_be_visible()
            assert reason.evaluate(WHOLLY_SHOWN), f"{name}'s reason is cut off at {width} px"
            muted = entry.evaluate("e => getComputedStyle(e).color")
            assert muted == "rgb(91, 100, 114)", f"{name} is not muted: {muted}"
            entry.click(force=True)  # a mouse on it anyway: no dialog opens, no page is left
            expect(page.locator("dialog[open]")).to_have_count(0)
            expect(page).to_have_url(f"{server}/dashboard/orders/{order.id}")
        assert_accessible(page, f"order menu with disabled entries, {width} px")
        # the keyboard reaches only what can be used: Refund, then out of the menu
        menu.locator("summary").focus()
        page.keyboard.press("Tab")
        expect(menu.get_by_role("link", name="Refund", exact=True)).to_be_focused()
        page.keyboard.press("Tab")
        assert not menu.locator("div").evaluate("d => d.contains(document.activeElement)")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Escape")
        expect(menu).not_to_have_attribute("open", "")
        expect(menu.locator("summary")).to_be_focused()
        # the opened link's own menu says why it cannot be canceled
        link = page.locator("tr[data-link='1'] details.menu")
        open_menu(page, link, f"menu-opened-link-disabled-{width}")
        item = link.get_by_role("button", name="Cancel order item")
        expect(item).to_be_disabled()
        expect(item).to_have_accessible_description(re.compile(re.escape(opened)))
        context.close()
