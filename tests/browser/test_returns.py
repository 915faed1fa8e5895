"""Sales > Returns in Chromium (issue 19, seed 001): a shipped order's return created on
the order, approved, received (one resellable, one damaged), refunded less a 10%
restocking fee after a review; the list's status tabs and search; and refusals shown in
plain words on the form that caused them."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Customer, LineKind, NewLine, Order, ReturnLineRequest
from refundry.domain.staff import Permission, Role
from refundry.domain.status import OrderStatus
from refundry.services import transactions
from refundry.services.handlers import orders, returns, staff
from refundry.services.handlers.merchants import create_merchant
from refundry.services.views.stock import list_stock
from tests.browser.conftest import assert_accessible, screenshot_path, sign_in

ADMIN = "owner@tea-house.example"
AGENT = "agent@tea-house.example"
PASSWORD = "correct horse battery"


def seed(database: str, customers: tuple[str, ...] = ("mia@example.com",)) -> list[Order]:
    """A shop whose agent may refund, and one shipped card order per customer: two mugs
    (12.90 each, 2.58 discount and 4.64 tax on the line) and a teapot."""
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Tea House")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(uow, merchant_id, ADMIN, PASSWORD, role=Role.ADMIN),
    )
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, AGENT, PASSWORD, permissions=(Permission.REFUND,)
        ),
    )
    placed = []
    for email in customers:
        order = transactions.run(
            uow_factory,
            lambda uow, email=email: orders.ingest_order(
                uow,
                orders.PlaceOrder(
                    merchant_id,
                    f"TEA-{uuid.uuid4().hex[:6]}",
                    Customer(email),
                    "EUR",
                    [
                        NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 2, 1290, 258, 464),
                        NewLine("POT", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, 0, 1098),
                    ],
                    shipping_amount=490,
                    shipping_tax=98,
                ),
            ),
        )
        placed.append(
            transactions.run(
                uow_factory,
                lambda uow, order=order: orders.fulfil_order(uow, merchant_id, order.id, None),
            )
        )
    container.engine.dispose()
    return placed


def stored(database: str, order: Order) -> tuple[Order, int]:
    """The order as the database holds it, and the mugs on the shelf."""
    container = bootstrap(Settings(database_url=database))
    found = transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(order.merchant_id, order.id)
    )
    [mugs] = transactions.query(
        container.read_models, lambda read: list_stock(read, order.merchant_id, ["MUG"])
    )
    container.engine.dispose()
    return found, mugs.on_hand


def test_a_return_is_requested_approved_received_and_refunded_less_a_restocking_fee(
    page: Page, database: str, server: str
) -> None:
    [order] = seed(database)
    _, shelf_before = stored(database, order)
    sign_in(page, server, AGENT, PASSWORD)
    page.goto(f"{server}/dashboard/orders/{order.id}")
    # the order was shipped: it cannot be cancelled, a return is created instead (seed 001)
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    page.get_by_role("link", name="Create return").first.click()
    expect(page.get_by_role("heading", name="Create return")).to_be_visible()
    page.get_by_label("Stoneware mug: units to return").fill("2")
    page.get_by_label("Stoneware mug: reason").fill("Too small")
    page.get_by_label("Requested by the customer: awaiting approval").check()
    page.get_by_label("Restocking fee (% of the returned items' value)").fill("10")
    page.screenshot(path=screenshot_path("returns-1-create"), full_page=True)
    assert_accessible(page, "create return")
    page.get_by_role("button", name="Create return").click()
    # requested: it waits for approval
    expect(page.get_by_role("status")).to_contain_text("it waits for approval")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Requested")
    expect(page.get_by_text("Too small")).to_be_visible()
    page.screenshot(path=screenshot_path("returns-2-requested"), full_page=True)
    assert_accessible(page, "requested return")
    page.get_by_role("button", name="Approve return").click()
    expect(page.get_by_role("status")).to_contain_text("Return approved")
    expect(heading).to_contain_text("Open")
    # two mugs expected, both resellable by default; one arrived damaged
    receive = page.locator("#receive")
    expect(page.get_by_label("Stoneware mug: resellable")).to_have_value("2")
    page.get_by_label("Stoneware mug: resellable").fill("1")
    page.get_by_label("Stoneware mug: damaged").fill("1")
    page.screenshot(path=screenshot_path("returns-3-receive"), full_page=True)
    assert_accessible(page, "open return")
    receive.get_by_role("button", name="Receive items").click()
    expect(page.get_by_role("status")).to_contain_text("Items received")
    expect(heading).to_contain_text("Received")
    _, shelf_after = stored(database, order)
    assert shelf_after == shelf_before + 1  # the resellable mug only
    # Refund: review (2 mugs 27.86, less 10%), then confirm with the quote
    page.get_by_label("The original payment method").check()
    page.get_by_role("button", name="Review refund").click()
    expect(page.get_by_role("heading", name="Review refund")).to_be_visible()
    expect(page.locator("#restocking-fee")).to_have_text("\u2212€2.79")
    expect(page.locator("#refund-total")).to_have_text("€25.07")
    page.screenshot(path=screenshot_path("returns-4-review"), full_page=True)
    assert_accessible(page, "refund review")
    page.get_by_role("button", name="Refund €25.07").click()
    expect(page.get_by_role("status")).to_contain_text("Return closed. A refund of €25.07 started")
    expect(heading).to_contain_text("Closed")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    expect(history).to_contain_text("1 resellable and 1 damaged of Stoneware mug")
    expect(history).to_contain_text(AGENT)
    page.screenshot(path=screenshot_path("returns-5-closed"), full_page=True)
    assert_accessible(page, "closed return")
    # the order: partially refunded, the return listed with its refund
    page.get_by_role("link", name=order.external_id or "").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("partially refunded")
    expect(page.locator("#returns")).to_contain_text("Closed")
    expect(page.locator("#returns")).to_contain_text("€25.07")
    page.screenshot(path=screenshot_path("returns-order-page"), full_page=True)
    # and the customer's Account History (seed 002) shows the return with the purchase
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Account History").click()
    history_page = page.locator("main")
    expect(history_page).to_contain_text("2 of 2 units received")
    expect(history_page.get_by_text("Closed")).to_be_visible()
    page.screenshot(path=screenshot_path("returns-6-account-history"), full_page=True)
    assert_accessible(page, "account history with a return")

    refunded, shelf = stored(database, order)
    assert refunded.status is OrderStatus.PARTIALLY_REFUNDED
    [refund] = refunded.refunds
    assert (refund.amount.minor, refund.breakdown.fees.minor) == (2507, 279)
    assert refund.created_by.startswith("staff:")
    assert shelf == shelf_before + 1


def _return(database: str, order: Order, *, requested: bool) -> uuid.UUID:
    container = bootstrap(Settings(database_url=database))
    made = transactions.run(
        container.uow_factory,
        lambda uow: returns.create_return(
            uow,
            order.merchant_id,
            order.id,
            [ReturnLineRequest(order.lines[0].id, 1, "Chipped")],
            requested=requested,
            restocking_fee_bp=0,
            return_shipping_fee=0,
            note=None,
            actor="system:test",
        ),
    )
    container.engine.dispose()
    return made.order_return.id


def test_the_returns_list_filters_by_status_finds_by_order_or_email_and_a_return_is_declined(
    page: Page, database: str, server: str
) -> None:
    mia, noah = seed(database, ("mia@example.com", "noah@example.com"))
    requested = _return(database, mia, requested=True)
    opened = _return(database, noah, requested=False)
    sign_in(page, server, AGENT, PASSWORD)
    page.get_by_role("link", name="Returns", exact=True).click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("noah@example.com")  # newest first
    page.screenshot(path=screenshot_path("returns-list"), full_page=True)
    assert_accessible(page, "returns list")
    expect(page.get_by_role("status")).to_have_text("1\u20132 of 2 records, newest first")
    # sorted the other way, kept in the URL and in the tabs' links
    page.get_by_label("Sort").select_option("oldest")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1\u20132 of 2 records, oldest first")
    expect(rows.first).to_contain_text("mia@example.com")
    assert "sort=oldest" in page.url
    all_tab = page.get_by_role("navigation", name="Returns by status").get_by_role("link").first
    expect(all_tab).to_have_attribute("href", "/dashboard/returns?sort=oldest")
    page.goto(f"{server}/dashboard/returns")
    # the status tabs that hold returns, each with how many
    tabs = page.get_by_role("navigation", name="Returns by status")
    expect(tabs.get_by_role("link", name="Open")).to_have_text("Open 1")
    expect(tabs.get_by_role("link", name="Closed")).to_have_count(0)
    tabs.get_by_role("link", name="Requested").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{str(requested)[:8]}")
    page.goto(f"{server}/dashboard/returns?status=closed")  # a link to a tab with none
    expect(tabs.get_by_role("link", name="Closed")).to_have_text("Closed 0")
    expect(rows.first).to_contain_text("No closed return.")
    tabs.get_by_role("link", name=re.compile(r"^All \d+$")).click()
    # search by e-mail (any case), by external id, by return id
    search = page.get_by_label("Order ID, external ID, return ID or customer e-mail")
    search.fill("NOAH@example.com")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{str(opened)[:8]}")
    search.fill(mia.external_id or "")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("mia@example.com")
    search.fill(str(opened))
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    search.fill(str(mia.id))  # the order's own id, as support reads it off the order page
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{str(requested)[:8]}")
    search.fill("nobody@example.com")
    page.get_by_role("button", name="Search").click()
    expect(rows.first).to_contain_text("No return or cancellation matches “nobody@example.com”.")
    # a row leads to its return
    page.get_by_role("link", name="Clear search").click()
    page.get_by_role("link", name=f"#{str(requested)[:8]}").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Requested")
    # declined with a reason: it ends, the reason kept in its history
    page.get_by_role("button", name="Decline", exact=True).click()
    dialog = page.get_by_role("dialog", name="Decline this return?")
    dialog.get_by_label("Reason (the customer will be told)").fill("Outside the 30 days")
    dialog.get_by_role("button", name="Decline return").click()
    expect(page.get_by_role("status")).to_contain_text("Return declined.")
    expect(heading).to_contain_text("Declined")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    expect(history).to_contain_text("Outside the 30 days")
    expect(page.get_by_role("button", name="Approve return")).to_have_count(0)
    page.screenshot(path=screenshot_path("returns-declined"), full_page=True)
    assert_accessible(page, "declined return")
    page.get_by_role("link", name="Returns", exact=True).click()
    tabs.get_by_role("link", name="Declined").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{str(requested)[:8]}")


def test_refusals_are_shown_in_plain_words_on_the_form_that_caused_them(
    page: Page, database: str, server: str
) -> None:
    [order] = seed(database)
    sign_in(page, server, AGENT, PASSWORD)
    # fees above what the items are worth: the form comes back as filled in, with why
    page.goto(f"{server}/dashboard/orders/{order.id}/returns/new")
    page.get_by_label("Stoneware mug: units to return").fill("1")
    page.get_by_label("Restocking fee (% of the returned items' value)").fill("100")
    page.get_by_label("Return-shipping fee (EUR)").fill("4.90")
    page.get_by_role("button", name="Create return").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "The fees (€18.83) are more than the returned units are worth (€13.93). "
        "Lower the restocking fee or the return-shipping fee."
    )
    fee = page.get_by_label("Restocking fee (% of the returned items' value)")
    expect(fee).to_have_value("100")
    expect(fee).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Stoneware mug: units to return")).to_have_value("1")
    page.screenshot(path=screenshot_path("returns-error-fee"), full_page=True)
    assert_accessible(page, "create return refused")
    # a percentage that is no percentage
    fee.fill("ten")
    page.get_by_role("button", name="Create return").click()
    expect(alert).to_contain_text("Restocking fee: a fee percentage must be a number.")
    # nothing chosen
    fee.fill("")
    page.get_by_label("Return-shipping fee (EUR)").fill("")
    page.get_by_label("Stoneware mug: units to return").fill("0")
    page.get_by_role("button", name="Create return").click()
    expect(alert).to_contain_text("Choose at least one unit to return")
    # a requested return declined without a reason: the dialog opens again and says why
    page.get_by_label("Stoneware mug: units to return").fill("2")
    page.get_by_label("Requested by the customer: awaiting approval").check()
    page.get_by_role("button", name="Create return").click()
    page.get_by_role("button", name="Decline", exact=True).click()
    dialog = page.get_by_role("dialog", name="Decline this return?")
    dialog.get_by_role("button", name="Decline return").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Say why you decline the return: the customer will be told."
    )
    page.screenshot(path=screenshot_path("returns-error-decline"), full_page=True)
    assert_accessible(page, "decline refused")
    dialog.get_by_role("button", name="Keep the request").click()
    # approved; then more units received than are expected
    page.get_by_role("button", name="Approve return").click()
    page.get_by_label("Stoneware mug: resellable").fill("3")
    page.get_by_role("button", name="Receive items").click()
    expect(page.locator("#receive").get_by_role("alert")).to_have_text(
        "Stoneware mug: only 2 units are still expected. Count again what arrived."
    )
    expect(page.get_by_label("Stoneware mug: resellable")).to_have_value("3")
    expect(page.get_by_label("Stoneware mug: resellable")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=screenshot_path("returns-error-receive"), full_page=True)
    # none of it wrote anything: still open, nothing received, nothing refunded
    found, _ = stored(database, order)
    [order_return] = found.returns
    assert (order_return.status.value, order_return.received_units) == ("open", 0)
    assert not found.refunds


def test_returns_work_at_a_phone_width(browser: Browser, database: str, server: str) -> None:
    [order] = seed(database)
    made = _return(database, order, requested=False)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, server, AGENT, PASSWORD)
    for path, name in (
        (f"/dashboard/orders/{order.id}", "phone-returns-order"),
        ("/dashboard/returns", "phone-returns-list"),
        (f"/dashboard/orders/{order.id}/returns/new", "phone-returns-create"),
        (f"/dashboard/returns/{made}", "phone-returns-open"),
    ):
        page.goto(f"{server}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
        page.screenshot(path=screenshot_path(name), full_page=True)
        assert_accessible(page, name)
    page.get_by_role("button", name="Receive items").click()
    page.get_by_role("button", name="Review refund").click()
    expect(page.locator("#refund-total")).to_have_text("€13.93")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the refund review scrolls sideways by {overflow}px"
    page.screenshot(path=screenshot_path("phone-returns-review"), full_page=True)
    context.close()
