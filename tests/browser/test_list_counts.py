"""Users and Sales > Returns as a person pages through them (issue 21): each list's footer
counts what it shows, Next page carries the search on, Returns' tabs say how many each
holds; at a desktop's width and at a phone's, without scrolling sideways."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    screenshot_path,
    sign_in,
)
from tests.browser.test_returns import ADMIN, PASSWORD, _return, seed

EN_DASH = "\u2013"


@AT_BOTH_WIDTHS
def test_users_and_returns_count_what_they_list_and_page_on(
    page: Page, database: str, server: str, width: int
) -> None:
    # given 52 customers at example.com (a page is 50), one elsewhere, and three returns
    emails = tuple(f"customer{number:02}@example.com" for number in range(52))
    placed = seed(database, (*emails, "zoe@other.test"))
    for order, requested in ((placed[0], True), (placed[1], False), (placed[2], False)):
        _return(database, order, requested=requested)
    at_width(page, width)
    sign_in(page, server, ADMIN, PASSWORD)
    # when the Users list is searched
    page.get_by_role("link", name="Users", exact=True).click()
    count = page.get_by_role("status")
    expect(count).to_have_text(f"1{EN_DASH}50 of 53 customers, latest order first")
    page.get_by_label("Customer e-mail or id").fill("example.com")
    page.get_by_role("button", name="Search").click()
    # then the first page of 52 counts them; Next page shows the last two, the search kept
    expect(count).to_have_text(f"1{EN_DASH}50 of 52 customers, latest order first")
    assert_fits_the_screen(page, f"users at {width}")
    assert_accessible(page, f"users at {width}")
    page.screenshot(path=screenshot_path(f"users-list-{width}"), full_page=True)
    page.get_by_role("link", name="Next page").click()
    expect(count).to_have_text(f"51{EN_DASH}52 of 52 customers, latest order first")
    expect(page.get_by_label("Customer e-mail or id")).to_have_value("example.com")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.screenshot(path=screenshot_path(f"users-list-last-{width}"), full_page=True)
    # and Returns counts its records and each tab's
    page.get_by_role("link", name="Returns", exact=True).click()
    expect(count).to_have_text(f"1{EN_DASH}3 of 3 records, newest first")
    tabs = page.get_by_role("navigation", name="Returns by status")
    expect(tabs.get_by_role("link", name="Open")).to_have_text("Open 2")
    expect(tabs.get_by_role("link", name="Requested")).to_have_text("Requested 1")
    expect(tabs.get_by_role("link", name="Cancellations")).to_have_text("Cancellations 0")
    assert_fits_the_screen(page, f"returns at {width}")
    assert_accessible(page, f"returns at {width}")
    page.screenshot(path=screenshot_path(f"returns-counts-{width}"), full_page=True)
