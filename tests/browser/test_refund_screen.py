"""The order's Refund screen in Chromium (issue 21, item 8): its first step's rows add up
to what is refundable and Full refund names its amount; Edit refund keeps the choices made
and offers a restock for shipped units; its total follows the form as it is typed, a
refusal beside its field; Back after Refund comes to a page, never to Chrome's "Confirm
form resubmission" (ERR_CACHE_MISS), and Refund sent again from there refunds nothing
more. Screenshots of the three steps at desktop and phone width are in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Order
from refundry.services import transactions
from refundry.services.handlers import orders
from tests.browser.conftest import assert_accessible, screenshot_path, sign_in
from tests.browser.test_seed_003_refund import AGENT, PASSWORD, seed


def ship_the_mugs(database: str, order: Order) -> None:
    container = bootstrap(Settings(database_url=database))
    mugs = {order.lines[0].id: 2}
    transactions.run(
        container.uow_factory,
        lambda uow: orders.fulfil_order(uow, order.merchant_id, order.id, mugs),
    )
    container.engine.dispose()


def refunds_made(database: str, order: Order) -> list[int]:
    container = bootstrap(Settings(database_url=database))
    stored = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    container.engine.dispose()
    return [refund.amount.minor for refund in stored.refunds]


def assert_no_sideways_scroll(page: Page, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"


@pytest.mark.parametrize(("width", "device"), [(1280, "desktop"), (390, "phone")])
def test_the_three_steps_with_shipped_mugs_restocked_to_other_means(
    browser: Browser, database: str, server: str, width: int, device: str
) -> None:
    order = seed(database)
    ship_the_mugs(database, order)
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}/refund")
    # the first step: articles and shipping, adding up to what is refundable now
    rows = page.get_by_role("dialog", name="Refund").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Shipping")
    expect(rows.nth(2)).to_contain_text("€5.88")  # 27.86 + 65.88 + 5.88 = 99.62
    expect(page.locator("#refundable-now")).to_have_text("€99.62")
    full = page.get_by_role("button", name="Full refund of €99.62")
    edit = page.get_by_role("button", name="Edit refund")
    # Edit refund is a button as tall as Full refund beside it, not a stretched box
    full_box, edit_box = full.bounding_box(), edit.bounding_box()
    assert full_box
    assert edit_box
    assert abs(edit_box["height"] - full_box["height"]) <= 2
    assert edit_box["height"] < 50
    assert_no_sideways_scroll(page, "refund")
    assert_accessible(page, f"{device} refund")
    page.screenshot(path=screenshot_path(f"refund-choose-{device}"), full_page=True)
    # the means and the restock chosen here go to Edit refund
    page.get_by_label("different means").check()
    page.get_by_label("Restock the 2 shipped units").check()
    edit.click()
    expect(page.get_by_role("heading", name="Edit refund")).to_be_visible()
    expect(page.get_by_label("different means")).to_be_checked()
    restock = page.get_by_role("checkbox", name="Restock shipped units of Stoneware mug")
    expect(restock).to_be_checked()
    expect(page.get_by_role("checkbox")).to_have_count(1)  # the teapot has not shipped
    page.get_by_label("Stoneware mug", exact=True).fill("2")
    page.get_by_label("Description").fill("Both chipped")
    expect(page.locator("#running-total")).to_have_text("€27.86")
    assert_no_sideways_scroll(page, "edit refund")
    assert_accessible(page, f"{device} edit refund")
    page.screenshot(path=screenshot_path(f"refund-edit-{device}"), full_page=True)
    page.get_by_role("button", name="Review refund").click()
    # the review: the amounts, the units back in stock, where the money goes
    expect(page.locator("#refund-total")).to_have_text("€27.86")
    expect(page.get_by_role("cell", name="Stoneware mug")).to_contain_text("2 back in stock")
    expect(page.locator("#refund-to")).to_contain_text("To: different means (recorded only")
    assert_no_sideways_scroll(page, "review refund")
    assert_accessible(page, f"{device} review refund")
    page.screenshot(path=screenshot_path(f"refund-review-{device}"), full_page=True)
    # and back to Edit refund: everything as it was typed
    page.get_by_role("button", name="Edit refund").click()
    expect(page.get_by_label("Stoneware mug", exact=True)).to_have_value("2")
    expect(page.get_by_label("Description")).to_have_value("Both chipped")
    expect(page.get_by_label("different means")).to_be_checked()
    expect(restock).to_be_checked()
    context.close()


def test_edit_refunds_total_follows_the_form_and_a_refusal_shows_beside_its_field(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    edit = f"{server}/dashboard/orders/{order.id}/refund/edit"
    page.goto(edit)
    summary = page.locator("#refund-summary")
    expect(summary).to_have_attribute("aria-live", "polite")
    expect(summary).to_have_text(
        "Choose articles, shipping or an amount to see the refund's total."
    )
    mug = page.get_by_label("Stoneware mug", exact=True)
    mug.fill("1")
    expect(page.locator("#running-total")).to_have_text("€13.93")
    page.get_by_label("Shipping").fill("4.90")
    expect(page.locator("#running-total")).to_have_text("€19.81")  # its tax follows
    # more mugs than are left: said beside the box, which is marked, and read out
    mug.fill("5")
    beside = page.locator(f"#error-line-{order.lines[0].id}")
    expect(beside).to_have_text("You can refund at most 2 units of Stoneware mug, not 5.")
    expect(mug).to_have_attribute("aria-invalid", "true")
    expect(mug).to_have_attribute("aria-describedby", beside.get_attribute("id") or "")
    expect(summary).to_contain_text("You can refund at most 2 units of Stoneware mug, not 5.")
    assert_accessible(page, "edit refund with a refusal beside a field")
    page.screenshot(path=screenshot_path("refund-edit-refused-as-typed"), full_page=True)
    assert page.url == edit, "refused without leaving the page"
    mug.fill("2")
    expect(beside).to_be_empty()
    expect(mug).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#running-total")).to_have_text("€33.74")
    page.get_by_label("Shipping").fill("9")
    expect(page.locator("#error-shipping")).to_have_text(
        "You can refund at most €4.90 of shipping on this order."
    )
    assert refunds_made(database, order) == []


def test_without_javascript_edit_refund_still_reviews_and_refunds(
    browser: Browser, database: str, server: str
) -> None:
    order = seed(database)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}/refund/edit")
    page.get_by_label("Stoneware mug", exact=True).fill("1")
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Refund made")
    context.close()
    assert refunds_made(database, order) == [1393]


def test_back_after_a_refund_comes_to_the_review_and_refund_again_makes_it_once(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}")
    page.get_by_role("link", name="Refund order").click()
    page.get_by_role("button", name="Edit refund").click()
    page.get_by_label("Stoneware mug", exact=True).fill("1")
    page.get_by_role("button", name="Review refund").click()
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Refund made")
    # Back: the review again, a page of its own (it was "Confirm form resubmission")
    back = page.go_back()
    assert back is not None
    assert back.status == 200
    assert re.search(r"/refund/review\?", page.url)
    expect(page.get_by_role("heading", name="Review refund")).to_be_visible()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    assert_accessible(page, "the review, after Back")
    # Refund again from there: the same refund, made once, and the page says so
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("This refund was made already")
    assert refunds_made(database, order) == [1393]
    # further Back: Edit refund and the first step are pages too
    for heading in ("Review refund", "Edit refund", "Refund"):
        back = page.go_back()
        assert back is not None
        assert back.status == 200
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def test_a_refund_to_store_credit_shows_in_the_customers_account_history(
    page: Page, database: str, server: str
) -> None:
    order = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}/refund")
    # "Refund to": the card the customer paid with, store credit, different means
    choices = page.get_by_role("group", name="Refund to").get_by_role("radio")
    expect(choices).to_have_count(3)
    expect(page.get_by_label("the card the customer paid with")).to_be_checked()
    page.get_by_label("store credit").check()
    page.get_by_role("button", name="Full refund of €99.62").click()
    expect(page.locator("#refund-to")).to_have_text("To: the customer's store credit")
    assert_accessible(page, "review of a refund to store credit")
    page.get_by_role("button", name="Refund", exact=True).click()
    # store credit needs no provider: the refund is completed at once
    expect(page.get_by_role("status")).to_contain_text("Refund made: Completed.")
    refunds = page.get_by_role("region", name="Refunds")
    expect(refunds).to_contain_text("The customer's store credit")
    # Users > Account History: the balance to spend, and the refund's entry
    page.get_by_role("link", name="Users").click()
    page.get_by_role("row", name="mia@example.com").get_by_role(
        "link", name="Account History"
    ).click()
    credit = page.locator("section", has=page.get_by_role("heading", name="Store credit"))
    expect(credit).to_contain_text("€99.62 to spend")
    expect(credit.get_by_role("row").nth(1)).to_contain_text("Refunded as store credit")
    expect(page.get_by_text("Refund €99.62 to the customer's store credit")).to_be_visible()
    assert_accessible(page, "account history after a refund to store credit")
    page.screenshot(path=screenshot_path("refund-to-store-credit-history"), full_page=True)
    assert refunds_made(database, order) == [9962]
