"""Seed 002 in Chromium: Users > a customer's Account History > the order > Refund Order >
Issue refund by different means > the item shows red with "Not requested by
administrator" > Reporting > Refunds: the date range and the CSV download. At desktop
and phone width."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.order import Customer, LineKind, NewLine, Order
from refundry.domain.staff import Permission, Role
from refundry.services import transactions
from refundry.services.handlers import orders, staff
from refundry.services.handlers.merchants import create_merchant
from tests.browser.conftest import (
    AT_BOTH_WIDTHS,
    assert_accessible,
    assert_fits_the_screen,
    at_width,
    screenshot_at,
    sign_in,
)

EMAIL = "manager@platform.example"
PASSWORD = "correct horse battery"
CUSTOMER = "sam@example.com"


def seed(database: str) -> Order:
    container = bootstrap(Settings(database_url=database))
    uow_factory = container.uow_factory
    merchant_id = transactions.run(
        uow_factory, lambda uow: create_merchant(uow, "Ticket Platform")
    ).merchant.id
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, EMAIL, PASSWORD, role=Role.STAFF,
            permissions=(Permission.REFUND, Permission.REPORTS),
        ),
    )  # fmt: skip
    placed = []
    for name in ("Concert ticket", "Festival pass"):
        placed.append(
            transactions.run(
                uow_factory,
                lambda uow, name=name: orders.ingest_order(
                    uow,
                    orders.PlaceOrder(
                        merchant_id,
                        f"T-{uuid.uuid4().hex[:6]}",
                        Customer(CUSTOMER),
                        "EUR",
                        [NewLine(name.upper()[:8], name, LineKind.DIGITAL, 1, 4500, 0, 900)],
                    ),
                ),
            )
        )
    container.engine.dispose()
    return placed[0]


@AT_BOTH_WIDTHS
def test_seed_002_refund_from_account_history_then_the_refunds_report(
    page: Page, database: str, server: str, width: int
) -> None:
    order = seed(database)
    at_width(page, width)
    sign_in(page, server, EMAIL, PASSWORD)
    # Users > the customer's Account History
    page.get_by_role("link", name="Users").click()
    assert_accessible(page, "users")
    assert_fits_the_screen(page, "users")
    page.get_by_role("row", name=CUSTOMER).get_by_role("link", name="Account History").click()
    expect(page.get_by_role("heading", name="Account History")).to_be_visible()
    purchase = page.locator("section", has=page.get_by_role("link", name=order.external_id))
    expect(purchase).to_contain_text("Concert ticket")
    # the order > Refund Order > Issue refund by different means
    purchase.get_by_role("link", name="Refund Order").click()
    page.get_by_label("different means (recorded only: Not requested by administrator)").check()
    page.get_by_role("button", name="Full refund").click()
    expect(page.locator("#refund-total")).to_have_text("€54.00")
    assert_accessible(page, "refund review")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Not requested by administrator")
    # back in Account History: the item is red, with the refund's status
    page.get_by_role("link", name="Users").click()
    page.get_by_role("row", name=CUSTOMER).get_by_role("link", name="Account History").click()
    purchase = page.locator("section", has=page.get_by_role("link", name=order.external_id))
    expect(purchase.locator("tr.refunded")).to_contain_text("Concert ticket")
    expect(purchase).to_contain_text("Not requested by administrator")
    assert_accessible(page, "account history with a refund")
    assert_fits_the_screen(page, "account history")
    screenshot_at(page, "seed-002-account-history", width)
    # Reporting > Refunds: the date range, and the CSV
    page.get_by_role("link", name="Reporting").click()
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Refunds").click()
    today = datetime.now(UTC).date().isoformat()
    page.get_by_label("From").fill(today)
    page.get_by_label("To").fill(today)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("1 refund(s) made")).to_be_visible()
    expect(page.locator("table")).to_contain_text("€54.00")
    assert_accessible(page, "refunds report")
    assert_fits_the_screen(page, "refunds report")
    screenshot_at(page, "seed-002-refunds-report", width)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["external_id"], row["amount"], row["status"]) for row in rows] == [
        (order.external_id, "54.00", "not_requested")
    ]
    # the Dashboard: KPIs net of the refund, and the chart of sales against refunds
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("img", name="Daily gross sales and refunds in EUR")).to_be_visible()
    assert_accessible(page, "reporting dashboard")
    assert_fits_the_screen(page, "reporting dashboard")
    screenshot_at(page, "seed-002-reporting-dashboard", width)
