"""A refused refund in Chromium: the Edit refund form comes back as it was typed, the
reason above it in plain words and the reader's currency format, with the focus on it;
axe finds nothing serious on it (issue 21, item 3)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_003_refund import AGENT, PASSWORD, seed


def test_a_refund_above_what_is_left_is_refused_on_its_form_as_typed(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    left = order.refundable.minor
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}/refund/edit")
    page.get_by_label("Amount").fill("500.00")
    page.get_by_label("Description").fill("Lid arrived cracked")
    page.get_by_role("button", name="Review refund").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        f"You can refund at most €{left // 100}.{left % 100:02d} on this order."
    )
    expect(alert).to_be_focused()
    expect(page.get_by_label("Amount")).to_have_value("500.00")
    expect(page.get_by_label("Description")).to_have_value("Lid arrived cracked")
    page.screenshot(path=screenshot_path("refusal-on-the-refund-form"), full_page=True)
    assert_accessible(page, "a refused refund")
