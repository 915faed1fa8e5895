"""Every field of the dashboard looks alike (issue 21: "unstyled selects and date inputs"):
a select or a date input has the height, border, corners and focus ring of a text field,
on the reports, the orders list, the team page and the cancel dialog, at 1280 and 390 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_003_refund import ADMIN, PASSWORD, seed

FIELDS = "input:is([type=text], [type=email], [type=search], [type=number], [type=date]), select"
# What a field's look is made of, as the browser computed it.
LOOK = """field => {
    const style = getComputedStyle(field);
    return {height: field.getBoundingClientRect().height, border: style.borderTopWidth + " " +
            style.borderTopStyle + " " + style.borderTopColor, radius: style.borderTopLeftRadius,
            font: style.fontSize};
}"""
ACCENT_RING = "solid 2px rgb(37, 86, 196)"  # --accent, #2556c4
RING = """field => {
    const style = getComputedStyle(field);
    return style.outlineStyle + " " + style.outlineWidth + " " + style.outlineColor;
}"""


def looks(fields: Locator) -> list[dict[str, Any]]:
    return [
        {"field": field.evaluate("f => f.outerHTML.slice(0, 60)"), **field.evaluate(LOOK)}
        for field in fields.all()
        if field.is_visible()
    ]


def assert_alike(page: Page, reference: dict[str, Any], where: str) -> None:
    """Every visible field as tall (to a pixel) and edged as the search box, and each
    one, focused from the keyboard, with the accent's ring."""
    fields = page.locator(FIELDS)
    for look in looks(fields):
        assert abs(look["height"] - reference["height"]) <= 1, (where, look, reference)
        for part in ("border", "radius", "font"):
            assert look[part] == reference[part], (where, part, look, reference)
    for field in fields.all():
        if field.is_visible():
            field.focus()
            page.keyboard.press("Shift+Tab")
            page.keyboard.press("Tab")  # the keyboard's focus: :focus-visible
            ring = field.evaluate(RING)
            assert ring == ACCENT_RING, (where, field.evaluate("f => f.name"), ring)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_selects_and_date_inputs_look_like_the_other_fields(
    browser: Browser, database: str, server: str, width: int, height: int
) -> None:
    order = seed(database)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, ADMIN, PASSWORD)
    page.goto(f"{server}/dashboard/orders")
    reference = looks(page.get_by_label("Order ID, external ID or customer e-mail"))[0]
    page.screenshot(path=screenshot_path(f"fields-orders-{width}"), full_page=True)
    assert_alike(page, reference, "orders")  # the search box and the sort
    for report in ("summary", "refunds", "items"):
        page.goto(f"{server}/dashboard/reports/{report}")
        page.screenshot(path=screenshot_path(f"fields-report-{report}-{width}"), full_page=True)
        assert_alike(page, reference, report)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{report} scrolls sideways by {overflow}px"
    assert_accessible(page, "items report")
    page.goto(f"{server}/dashboard/team")
    page.screenshot(path=screenshot_path(f"fields-team-{width}"), full_page=True)
    assert_alike(page, reference, "team")  # the limit, its currency, the e-mail
    page.goto(f"{server}/dashboard/orders/{order.id}")
    page.get_by_role("button", name="Cancel order").first.click()
    dialog = page.locator("dialog[open]")
    status = dialog.get_by_label("Order status after cancellation")
    page.screenshot(path=screenshot_path(f"fields-cancel-dialog-{width}"))
    assert abs(looks(status)[0]["height"] - reference["height"]) <= 1
    assert_alike(page, reference, "cancel dialog")
    context.close()
