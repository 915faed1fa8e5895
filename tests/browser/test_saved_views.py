"""Saved views in Chromium, as an agent uses them: search and sort the orders, Save view
(a blank name is refused on the dialog), find the view as a tab, leave it and open it
again, then delete it; and one of Returns; on a desktop's width and on a phone's."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_003_refund import AGENT, PASSWORD, seed

NAME = "Mia, biggest first"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_save_a_view_see_its_tab_open_it_and_delete_it(
    browser: Browser, database: str, server: str, width: int, height: int
) -> None:
    order = seed(database)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    # the orders of one customer, highest total first
    page.get_by_label("Order ID, external ID or customer e-mail").fill("mia@example.com")
    page.get_by_label("Sort").select_option(label="Highest total")
    # (typing and choosing would do, once htmx is loaded: the button does in any case)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"query=mia%40example\.com&sort=total-desc"))
    # Save view with no name: refused in words on the dialog, which opens again
    page.get_by_role("button", name="Save view").click()
    dialog = page.get_by_role("dialog", name="Save this view")
    expect(dialog).to_contain_text("search “mia@example.com”, highest total")
    dialog.get_by_role("button", name="Save view").click()
    dialog = page.get_by_role("dialog", name="Save this view")
    expect(dialog.get_by_role("alert")).to_have_text(
        "Give the view a name: it is the label of its tab."
    )
    name = dialog.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, f"save view refused at {width}")
    page.screenshot(path=screenshot_path(f"saved-view-refused-{width}"))
    name.fill(NAME)
    dialog.get_by_role("button", name="Save view").click()
    # its tab, chosen, with how many orders it finds
    tabs = page.get_by_role("navigation", name="Orders by status and saved view")
    tab = tabs.get_by_role("link", name=NAME)
    expect(tab).to_have_attribute("aria-current", "page")
    expect(tab).to_contain_text("1")
    expect(tabs.get_by_role("link", name="All")).not_to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=order.external_id or "")).to_be_visible()
    assert_accessible(page, f"saved view at {width}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the list scrolls sideways by {overflow}px"
    page.screenshot(path=screenshot_path(f"saved-view-tab-{width}"), full_page=True)
    # leave it (clear the search), and come back to it: its search and sort come back too
    page.get_by_role("link", name="Clear search").click()
    expect(page.get_by_label("Order ID, external ID or customer e-mail")).to_have_value("")
    expect(tab).not_to_have_attribute("aria-current", "page")
    tab.click()
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Order ID, external ID or customer e-mail")).to_have_value(
        "mia@example.com"
    )
    expect(page.get_by_label("Sort")).to_have_value("total-desc")
    # delete it, confirmed: the list opens on All, without its tab
    page.get_by_role("button", name="Delete view").click()
    confirm = page.get_by_role("dialog", name=f"Delete the view “{NAME}”?")
    expect(confirm).to_contain_text("The orders it shows stay as they are.")
    assert_accessible(page, f"delete view dialog at {width}")
    page.screenshot(path=screenshot_path(f"saved-view-delete-{width}"))
    confirm.get_by_role("button", name="Delete view").click()
    expect(page).to_have_url(f"{server}/dashboard/orders")
    expect(tabs.get_by_role("link", name="All")).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name=NAME)).to_have_count(0)
    # Returns has saved views of its own
    page.get_by_role("link", name="Returns", exact=True).click()
    page.get_by_role("link", name="Cancellations").click()
    page.get_by_role("button", name="Save view").click()
    page.get_by_role("dialog", name="Save this view").get_by_label("Name").fill("Canceled orders")
    page.get_by_role("dialog", name="Save this view").get_by_role(
        "button", name="Save view"
    ).click()
    returns_tabs = page.get_by_role("navigation", name="Returns by status and saved view")
    expect(returns_tabs.get_by_role("link", name="Canceled orders")).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible(page, f"returns with a saved view at {width}")
    page.screenshot(path=screenshot_path(f"saved-view-returns-{width}"), full_page=True)
    context.close()
