"""The dashboard on a phone's width: no page scrolls sideways, every table fits or scrolls
in a box of its own with a cue, and an order can still be found and refunded."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    PHONE,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    screenshot_path,
    sign_in,
)
from tests.browser.test_return_exchanges import received
from tests.browser.test_returns import ADMIN as RETURNS_ADMIN
from tests.browser.test_returns import seed as returns_seed
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


# Each table on the page: whether it is in a scroll box (tables.html's scroll_box), how
# that box is named and reached, whether the table is wider than what shows of it, and
# the box's background layers (the shadows at its edges are the two "scroll" ones).
TABLES = """() => [...document.querySelectorAll("main table")].map((table) => {
    const box = table.closest(".scroll");
    const shown = box ? box.clientWidth : table.parentElement.clientWidth;
    return {
        kind: table.className, boxed: !!box, role: box?.getAttribute("role"),
        tabindex: box?.getAttribute("tabindex"), label: box?.getAttribute("aria-label"),
        wide: table.scrollWidth > shown + 1,
        layers: box ? getComputedStyle(box).backgroundAttachment : null,
    };
})"""


def test_on_a_phone_every_table_fits_or_scrolls_in_a_labelled_box_with_a_cue(
    page: Page, database: str, server: str
) -> None:
    # given a shipped order with a refund and a received return, and every list page
    [order] = returns_seed(database)
    return_id = received(database, order, 0)
    at_width(page, PHONE)
    sign_in(page, server, RETURNS_ADMIN, PASSWORD)
    pages = [
        "/dashboard/orders", f"/dashboard/orders/{order.id}",
        f"/dashboard/orders/{order.id}/refund/edit", f"/dashboard/orders/{order.id}/returns/new",
        "/dashboard/returns", f"/dashboard/returns/{return_id}", "/dashboard/customers",
        "/dashboard/customers/mia@example.com", "/dashboard/reports", "/dashboard/reports/summary",
        "/dashboard/reports/items", "/dashboard/reports/reasons", "/dashboard/reports/refunds",
        "/dashboard/team", "/dashboard/webhooks", "/dashboard/approvals",
    ]  # fmt: skip
    wide = []
    for path in pages:
        page.goto(f"{server}{path}")
        assert_fits_the_screen(page, path)
        for table in page.evaluate(TABLES):
            if not table["boxed"]:  # a table that reflows: it fits
                assert not table["wide"], f"{path}: a table is cut off: {table}"
                continue
            # then every table that may not fit is in a box the keyboard reaches and that
            # says what it holds
            assert (table["boxed"], table["role"], table["tabindex"]) == (True, "region", "0"), (
                f"{path}: a table outside a scroll box: {table}"
            )
            assert table["label"], f"{path}: a scroll box without a name"
            # with a shadow at each edge, shown where more columns wait
            assert table["layers"].startswith("local, local, scroll, scroll"), table
            wide += [f"{path} {table['label']}"] if table["wide"] else []
        # and no quantity box is cut off by its table's box
        for box in page.locator("input[type=number]").all():
            assert box.evaluate(
                """b => { const r = b.getBoundingClientRect();
                          const s = b.closest(".scroll, section").getBoundingClientRect();
                          return r.left >= s.left && r.right <= s.right; }"""
            ), f"{path}: a quantity box is cut off"
    # the reports' tables are wider than a phone: they scroll, and the keyboard scrolls them
    assert any(place.startswith("/dashboard/reports ") for place in wide), wide
    page.goto(f"{server}/dashboard/reports")
    box = page.get_by_role("region", name="Last 30 days")
    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(box).not_to_have_js_property("scrollLeft", 0)
    page.screenshot(path=screenshot_path("phone-scrolled-table"))
