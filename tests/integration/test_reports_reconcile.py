"""Reports reconcile exactly with the ledger, on SQLite and PostgreSQL.

The expected figures are computed here, in Python, from the very orders the
generator produced; the reports compute them in SQL. They must agree to the unit.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refundry.bootstrap import Container
from refundry.domain.order import Order
from refundry.domain.refund import Refund, RefundStatus
from refundry.domain.reporting import Granularity, RefundFilters
from refundry.entrypoints import seed_data
from refundry.services import reports, transactions
from refundry.services.merchants import create_merchant

START = datetime(2026, 3, 20, tzinfo=UTC)  # spans the European DST change on 29 March
ZONES = ["UTC", "Europe/Helsinki", "America/New_York", "Asia/Tokyo"]


def settled_at(refund: Refund) -> datetime | None:
    if refund.status is RefundStatus.COMPLETED:
        return refund.completed_at
    if refund.status is RefundStatus.NOT_REQUESTED:
        return refund.created_at
    return None


def expected_by_day(orders: list[Order], zone: ZoneInfo) -> dict[tuple[date, str], dict[str, int]]:
    figures: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in orders:
        code = order.currency.code
        if order.payment.captured.minor > 0:
            day = figures[(order.created_at.astimezone(zone).date(), code)]
            day["orders"] += 1
            day["gross"] += sum(line.subtotal.minor for line in order.lines)
            day["discounts"] += sum(line.discount.minor for line in order.lines)
        for refund in order.refunds:
            at = settled_at(refund)
            if at is None:
                continue
            breakdown = refund.breakdown
            sales = sum(line.subtotal.minor - line.discount.minor for line in breakdown.lines)
            sales += breakdown.goodwill.minor + breakdown.adjustment.minor
            figures[(at.astimezone(zone).date(), code)]["refunded_sales"] += sales
    return figures


def new_merchant(container: Container, zone: str) -> uuid.UUID:
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "R"))
    transactions.run(
        container.uow_factory,
        lambda uow: reports.set_timezone(uow, merchant.merchant.id, zone),
    )
    return merchant.merchant.id


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(5, 60), seed=st.integers(0, 10_000), zone=st.sampled_from(ZONES))
def test_summary_is_the_ledger_day_by_day_and_in_total(
    container: Container, count: int, seed: int, zone: str
) -> None:
    # given generated orders over two weeks, with their cancels and refunds
    merchant_id = new_merchant(container, zone)
    orders = list(
        seed_data.generate(
            merchant_id, count, start=START, end=START + timedelta(days=14), seed=seed
        )
    )
    seed_data.insert(container.uow_factory, iter(orders))
    first, last = date(2026, 3, 19), date(2026, 5, 31)
    # when the summary is asked for day by day
    _, rows = transactions.read(
        container.uow_factory,
        lambda uow: reports.summary_report(uow, merchant_id, first, last, Granularity.DAY),
    )
    # then every day matches the ledger, and net = gross - discounts - settled refunds
    expected = expected_by_day(orders, ZoneInfo(zone))
    got = {(row.period, row.currency): row for row in rows}
    assert set(got) == {key for key, values in expected.items() if any(values.values())}
    for key, row in got.items():
        assert row.orders == expected[key]["orders"]
        assert row.gross_sales == expected[key]["gross"]
        assert row.discounts == expected[key]["discounts"]
        assert row.refunded_sales == expected[key]["refunded_sales"]
        assert row.net_sales == row.gross_sales - row.discounts - row.refunded_sales
    for total in reports.totals(rows):
        in_currency = [v for (_, code), v in expected.items() if code == total.currency]
        gross = sum(v["gross"] for v in in_currency)
        discounts = sum(v["discounts"] for v in in_currency)
        refunded = sum(v["refunded_sales"] for v in in_currency)
        assert total.net_sales == gross - discounts - refunded
    # and weeks and months add up to the same totals
    for granularity in (Granularity.WEEK, Granularity.MONTH):
        _, coarse = transactions.read(
            container.uow_factory,
            lambda uow, g=granularity: reports.summary_report(uow, merchant_id, first, last, g),
        )
        assert [replace(total, period=first) for total in reports.totals(coarse)] == [
            replace(total, period=first) for total in reports.totals(rows)
        ]


def test_items_report_matches_the_lines(container: Container) -> None:
    merchant_id = new_merchant(container, "UTC")
    orders = list(
        seed_data.generate(merchant_id, 80, start=START, end=START + timedelta(days=5), seed=3)
    )
    seed_data.insert(container.uow_factory, iter(orders))
    _, rows = transactions.read(
        container.uow_factory,
        lambda uow: reports.items_report(uow, merchant_id, date(2026, 3, 1), date(2026, 5, 31)),
    )
    sold: dict[tuple[str, str], int] = defaultdict(int)
    returned: dict[tuple[str, str], int] = defaultdict(int)
    for order in orders:
        by_id = {line.id: line for line in order.lines}
        if order.payment.captured.minor > 0:
            for line in order.lines:
                sold[(line.sku, order.currency.code)] += line.quantity
        for refund in order.refunds:
            if settled_at(refund) is not None:
                for refund_line in refund.breakdown.lines:
                    key = (by_id[refund_line.order_line_id].sku, order.currency.code)
                    returned[key] += refund_line.quantity
    assert {(r.sku, r.currency): r.units_sold for r in rows if r.units_sold} == dict(sold)
    assert {
        (r.sku, r.currency): r.units_cancelled + r.units_refunded
        for r in rows
        if r.units_cancelled + r.units_refunded
    } == dict(returned)
    assert all(row.net == row.gross - row.discounts - row.refunds for row in rows)


def test_the_csv_has_every_refund_and_the_same_totals_as_the_api(container: Container) -> None:
    import csv
    import io
    from decimal import Decimal

    from refundry.entrypoints.api.routes_reports import csv_lines

    merchant_id = new_merchant(container, "Europe/Helsinki")
    orders = list(
        seed_data.generate(merchant_id, 120, start=START, end=START + timedelta(days=5), seed=11)
    )
    seed_data.insert(container.uow_factory, iter(orders))
    first, last = date(2026, 3, 1), date(2026, 5, 31)
    page = transactions.read(
        container.uow_factory,
        lambda uow: reports.refunds_report(
            uow, merchant_id, first, last, RefundFilters(), limit=500
        ),
    )
    text = "".join(
        csv_lines(
            reports.stream_refunds_report(
                container.uow_factory, merchant_id, first, last, RefundFilters()
            )
        )
    )
    assert text.startswith("\ufeff")
    parsed = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(parsed) == page.total == len(page.rows) > 0
    exponents = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
    for currency, exponent in exponents.items():
        from_csv = sum(Decimal(row["amount"]) for row in parsed if row["currency"] == currency)
        from_api = sum(row.amount for row in page.rows if row.currency == currency)
        assert from_csv == Decimal(from_api).scaleb(-exponent)
    assert {row["refund_id"] for row in parsed} == {str(row.id) for row in page.rows}
    datetime.fromisoformat(parsed[0]["created_at"])  # ISO 8601
