"""Reporting: a dashboard of KPIs with a chart of sales against refunds (SVG drawn on the
server), and the Summary, Items and Reasons reports for a date range. The refunds report
and its CSV live in ``customers.py`` beside seed 002's Account History."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from refundry.domain.reporting import Granularity, ReportRange, SummaryRow
from refundry.domain.staff import Permission
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import clock, transactions
from refundry.services.handlers.staff import Session
from refundry.services.ports.read_model import ReadModel
from refundry.services.views import reports

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

# Bounded: a report of year 1 or 9999 is a typo, and its arithmetic would overflow.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
From = Annotated[date | None, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY)]
To = Annotated[date | None, Query(alias="to", ge=FIRST_DAY, le=LAST_DAY)]
CHART_WIDTH, CHART_HEIGHT = 720, 200


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    width: int
    sales_height: int
    refunds_height: int
    day: date
    sales: int
    refunds: int


def chart_bars(series: list[SummaryRow], currency: str, first: date, days: int) -> list[Bar]:
    """One pair of bars per day: gross sales, and settled refunds and cancellations."""
    by_day = {row.period: row for row in series if row.currency == currency}
    values = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        sales = row.gross_sales if row else 0
        refunded = (row.refunds + row.cancellations) if row else 0
        values.append((day, sales, refunded))
    top = max([sales for _, sales, _ in values] + [refunded for *_, refunded in values] + [1])
    width = CHART_WIDTH // days
    return [
        Bar(
            x=index * width,
            width=max(width - 2, 1),
            sales_height=sales * CHART_HEIGHT // top,
            refunds_height=refunded * CHART_HEIGHT // top,
            day=day,
            sales=sales,
            refunds=refunded,
        )
        for index, (day, sales, refunded) in enumerate(values)
    ]


def _range(first_day: date | None, last_day: date | None) -> tuple[date, date]:
    last = last_day or clock.utcnow().date()
    return first_day or last - timedelta(days=29), last


def _reader(request: Request, container: ContainerDep) -> Session | None:
    current = current_session(request, container)
    if current is not None:
        current.member.require(Permission.REPORTS)
    return current


@router.get("/reports")
def dashboard(request: Request, container: ContainerDep) -> Response:
    current = _reader(request, container)
    if current is None:
        return to_login()
    found = transactions.query(
        container.lagging_reads, lambda read: reports.dashboard(read, current.member.merchant_id)
    )
    currencies = sorted({row.currency for row in found.series})
    first = found.today - timedelta(days=29)
    charts = {code: chart_bars(found.series, code, first, 30) for code in currencies}
    return render(request, "report_dashboard.html", session=current, dashboard=found,
                  charts=charts, chart_width=CHART_WIDTH, chart_height=CHART_HEIGHT)  # fmt: skip


@router.get("/reports/summary")
def summary(
    request: Request,
    container: ContainerDep,
    first_day: From = None,
    last_day: To = None,
    period: Granularity = Granularity.DAY,
) -> Response:
    current = _reader(request, container)
    if current is None:
        return to_login()
    first, last = _range(first_day, last_day)
    span, rows = transactions.query(
        container.lagging_reads,
        lambda read: reports.summary_report(read, current.member.merchant_id, first, last, period),
    )
    return render(request, "report_summary.html", session=current, rows=rows,
                  totals=reports.totals(rows), first=first, last=last, period=period,
                  span=span)  # fmt: skip


@router.get("/reports/items")
def items(
    request: Request, container: ContainerDep, first_day: From = None, last_day: To = None
) -> Response:
    return _range_report(
        request, container, first_day, last_day, reports.items_report, "report_items.html"
    )


@router.get("/reports/reasons")
def reasons(
    request: Request, container: ContainerDep, first_day: From = None, last_day: To = None
) -> Response:
    return _range_report(
        request, container, first_day, last_day, reports.reasons_report, "report_reasons.html"
    )


def _range_report(
    request: Request,
    container: ContainerDep,
    first_day: date | None,
    last_day: date | None,
    report: Callable[[ReadModel, uuid.UUID, date, date], tuple[ReportRange, Sequence[object]]],
    template: str,
) -> Response:
    current = _reader(request, container)
    if current is None:
        return to_login()
    first, last = _range(first_day, last_day)
    span, rows = transactions.query(
        container.lagging_reads,
        lambda read: report(read, current.member.merchant_id, first, last),
    )
    return render(request, template, session=current, rows=rows, first=first, last=last,
                  span=span)  # fmt: skip
