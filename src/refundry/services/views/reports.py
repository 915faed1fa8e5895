"""Report use cases: ranges in the merchant's time zone, figures from the database."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from refundry.domain.errors import InvalidInput
from refundry.domain.reporting import (
    SUMMARY_FIGURES,
    Granularity,
    ItemRow,
    ReasonRow,
    RefundFilters,
    RefundReportRow,
    ReportRange,
    SummaryRow,
    merchant_zone,
)
from refundry.services.clock import utcnow
from refundry.services.ports.read_model import ReadModel, ReadModelFactory

REFUND_SORTS = ("-created_at", "created_at", "-amount", "amount")


@dataclass(frozen=True, slots=True)
class RefundsPage:
    span: ReportRange
    rows: list[RefundReportRow]
    total: int


@dataclass(frozen=True, slots=True)
class Kpi:
    currency: str
    orders: int
    gross_sales: int
    refunded_sales: int
    net_sales: int
    refunds: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    today: date
    timezone: str
    kpis: dict[str, list[Kpi]]  # "today" / "7d" / "30d" -> one per currency
    series: list[SummaryRow]  # one per day and currency, the last 30 days


def merchant_range(
    read: ReadModel, merchant_id: uuid.UUID, first_day: date, last_day: date
) -> ReportRange:
    merchant = read.merchants.get(merchant_id)
    timezone = merchant.timezone if merchant else "UTC"
    return ReportRange.of(first_day, last_day, timezone)


def refunds_report(
    read: ReadModel,
    merchant_id: uuid.UUID,
    first_day: date,
    last_day: date,
    filters: RefundFilters,
    *,
    sort: str = "-created_at",
    limit: int = 50,
    offset: int = 0,
) -> RefundsPage:
    _check_sort(sort)
    span = merchant_range(read, merchant_id, first_day, last_day)
    rows = read.reports.refunds_page(
        merchant_id, span, filters, sort=sort, limit=limit, offset=offset
    )
    return RefundsPage(span, rows, read.reports.refunds_count(merchant_id, span, filters))


def stream_refunds_report(
    read_models: ReadModelFactory,
    merchant_id: uuid.UUID,
    first_day: date,
    last_day: date,
    filters: RefundFilters,
    *,
    sort: str = "created_at",
) -> Iterator[RefundReportRow]:
    """Every matching refund, one at a time, inside one read transaction (a consistent
    snapshot on PostgreSQL); memory stays flat however many rows there are."""
    _check_sort(sort)
    with read_models() as read:
        span = merchant_range(read, merchant_id, first_day, last_day)
        yield from read.reports.refunds_stream(merchant_id, span, filters, sort=sort)


def count_refunds_report(
    read: ReadModel, merchant_id: uuid.UUID, first_day: date, last_day: date, filters: RefundFilters
) -> int:
    span = merchant_range(read, merchant_id, first_day, last_day)
    return read.reports.refunds_count(merchant_id, span, filters)


def summary_report(
    read: ReadModel,
    merchant_id: uuid.UUID,
    first_day: date,
    last_day: date,
    granularity: Granularity,
) -> tuple[ReportRange, list[SummaryRow]]:
    span = merchant_range(read, merchant_id, first_day, last_day)
    return span, read.reports.summary(merchant_id, span, granularity)


def items_report(
    read: ReadModel, merchant_id: uuid.UUID, first_day: date, last_day: date
) -> tuple[ReportRange, list[ItemRow]]:
    span = merchant_range(read, merchant_id, first_day, last_day)
    return span, read.reports.items(merchant_id, span)


def reasons_report(
    read: ReadModel, merchant_id: uuid.UUID, first_day: date, last_day: date
) -> tuple[ReportRange, list[ReasonRow]]:
    span = merchant_range(read, merchant_id, first_day, last_day)
    return span, read.reports.reasons(merchant_id, span)


def dashboard(read: ReadModel, merchant_id: uuid.UUID) -> Dashboard:
    """Today, the last 7 and 30 days, and a daily series of sales against refunds."""
    merchant = read.merchants.get(merchant_id)
    timezone = merchant.timezone if merchant else "UTC"
    today = utcnow().astimezone(merchant_zone(timezone)).date()
    first = today - timedelta(days=29)
    span = ReportRange.of(first, today, timezone)
    days = read.reports.summary(merchant_id, span, Granularity.DAY)
    kpis = {
        label: _kpis(row for row in days if row.period >= today - timedelta(days=length - 1))
        for label, length in (("today", 1), ("7d", 7), ("30d", 30))
    }
    return Dashboard(today, timezone, kpis, days)


def totals(rows: list[SummaryRow]) -> list[SummaryRow]:
    """One row per currency summing the periods (``period`` is the first period)."""
    by_currency: dict[str, list[SummaryRow]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    return [
        SummaryRow(
            min(row.period for row in group),
            currency,
            **{name: sum(getattr(row, name) for row in group) for name in FLOW_FIGURES},
            # a balance, not a flow: what is owed at the end of the last period
            store_credit_outstanding=max(
                group, key=lambda row: row.period
            ).store_credit_outstanding,
        )
        for currency, group in sorted(by_currency.items())
    ]


FLOW_FIGURES = tuple(name for name in SUMMARY_FIGURES if name != "store_credit_outstanding")


def _kpis(rows: Iterable[SummaryRow]) -> list[Kpi]:
    return [
        Kpi(
            currency=row.currency,
            orders=row.orders,
            gross_sales=row.gross_sales,
            refunded_sales=row.refunded_sales,
            net_sales=row.net_sales,
            refunds=row.refunds + row.cancellations,
        )
        for row in totals(list(rows))
    ]


def _check_sort(sort: str) -> None:
    if sort not in REFUND_SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(REFUND_SORTS)}")
