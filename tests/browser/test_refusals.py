"""A refused refund in Chromium: the Edit refund form comes back as it was typed, the
reason above it in plain words and the reader's currency format, with the focus on it;
axe finds nothing serious on it (issue 21, item 3). A refused Refund comes back by a
redirect, so Back and reload from there come to pages, not to ERR_CACHE_MISS."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_refund_screen import refunds_made
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


def test_back_and_reload_after_a_refused_refund_come_to_pages(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    # the agent reviews a refund of one mug...
    page.goto(f"{server}/dashboard/orders/{order.id}/refund/edit")
    page.get_by_label("Stoneware mug", exact=True).fill("1")
    page.get_by_label("Description").fill("Chipped")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    # ...while a colleague refunds the teapot in another tab
    other = page.context.new_page()
    other.goto(f"{server}/dashboard/orders/{order.id}/refund/edit")
    other.get_by_label("Cast-iron teapot", exact=True).fill("1")
    other.get_by_role("button", name="Review refund").click()
    other.get_by_role("button", name="Refund", exact=True).click()
    expect(other.get_by_role("status")).to_contain_text("Refund made")
    other.close()
    # Refund on the stale review is refused: Edit refund says why, as it was typed
    page.get_by_role("button", name="Refund", exact=True).click()
    stale = "The order changed since you reviewed this refund"
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(stale)
    expect(alert).to_be_focused()
    expect(page.get_by_label("Stoneware mug", exact=True)).to_have_value("1")
    expect(page.get_by_label("Description")).to_have_value("Chipped")
    assert "csrf" not in page.url
    assert_accessible(page, "a refused refund, back on Edit refund")
    page.screenshot(path=screenshot_path("refusal-after-refund"), full_page=True)
    # reload: the same page, asked again (no "Confirm form resubmission")
    reloaded = page.reload()
    assert reloaded is not None
    assert reloaded.status == 200
    expect(page.get_by_role("alert")).to_contain_text(stale)
    expect(page.get_by_label("Stoneware mug", exact=True)).to_have_value("1")
    # Back: the review, reviewed afresh (it was Chrome's ERR_CACHE_MISS)
    back = page.go_back()
    assert back is not None
    assert back.status == 200
    expect(page.get_by_role("heading", name="Review refund")).to_be_visible()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    # and Forward to the refusal again, then on: review again and refund, made once
    forward = page.go_forward()
    assert forward is not None
    assert forward.status == 200
    expect(page.get_by_role("alert")).to_contain_text(stale)
    page.get_by_role("button", name="Review refund").click()
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Refund made")
    assert sorted(refunds_made(database, order)) == [1393, 6588]
