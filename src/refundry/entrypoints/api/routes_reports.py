"""Reports: refunds (JSON page and streamed CSV), summary, items, reasons, dashboard.

Ranges are whole days in the merchant's time zone (`PATCH /v1/merchant`), both ends
included. Only settled refunds reduce sales; docs/reports.md defines every figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from refundry.domain.merchant import Merchant
from refundry.domain.refund import RefundMethod, RefundStatus
from refundry.domain.reporting import Granularity, RefundFilters
from refundry.entrypoints.actors import merchant_actors
from refundry.entrypoints.api import fields, schemas_reports
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.entrypoints.refund_report_csv import refund_report_csv
from refundry.services import transactions
from refundry.services.handlers import merchants
from refundry.services.views import reports

router = APIRouter(prefix="/v1", tags=["reports"])
Row = TypeVar("Row", bound=BaseModel)

From = Annotated[date, Query(alias="from", description="first day, merchant's time zone")]
To = Annotated[date, Query(alias="to", description="last day (included)")]
Statuses = Annotated[list[RefundStatus] | None, Query(alias="status")]
Methods = Annotated[list[RefundMethod] | None, Query(alias="method")]
ReasonText = Annotated[
    fields.Text[Annotated[str, Field(max_length=200)]] | None,
    Query(description="part of the reason"),
]
Staff = Annotated[
    fields.Text[Annotated[str, Field(max_length=100)]] | None,
    Query(description="who acted, as recorded"),
]
Sort = Annotated[str, Query(pattern="^-?(created_at|amount)$")]


def _filters(
    statuses: list[RefundStatus] | None,
    methods: list[RefundMethod] | None,
    reason: str | None,
    staff: str | None,
) -> RefundFilters:
    return RefundFilters(
        statuses=tuple(status.value for status in statuses or ()),
        methods=tuple(method.value for method in methods or ()),
        reason=reason.strip().lower() if reason and reason.strip() else None,
        staff=staff,
    )


def _dump(model: BaseModel) -> Response:
    return json_response(model.model_dump(mode="json"))


def _rows(model: type[Row], rows: Iterable[object]) -> list[Row]:
    """Report rows are plain dataclasses; the response models read their attributes."""
    return [model.model_validate(row, from_attributes=True) for row in rows]


@router.get("/merchant", response_model=schemas_reports.MerchantOut, tags=["merchant"])
def get_merchant(container: ContainerDep, caller: CallerDep) -> Response:
    merchant = transactions.read(
        container.uow_factory, lambda uow: uow.merchants.get(caller.merchant_id)
    )
    assert merchant is not None  # the caller's key belongs to it
    return _dump(_merchant_out(merchant))


def _merchant_out(merchant: Merchant) -> schemas_reports.MerchantOut:
    return schemas_reports.MerchantOut(
        id=merchant.id,
        name=merchant.name,
        timezone=merchant.timezone,
        authorization_expiry_action=merchant.authorization_expiry_action,
        automatic_capture=merchant.automatic_capture,
        cancel_labels=list(merchant.cancel_labels),
        store_credit_validity_days=merchant.store_credit_validity_days,
    )


@router.patch("/merchant", response_model=schemas_reports.MerchantOut, tags=["merchant"])
def update_merchant(
    body: schemas_reports.MerchantIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Set the time zone reports cut their days in (an IANA name), what the
    authorization watch does with holds about to lapse, whether payments are captured at
    once, the merchant's own statuses after cancellation, and how long store credit
    issued from now on lasts."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: merchants.update_merchant(
            uow,
            caller.merchant_id,
            timezone=body.timezone,
            authorization_expiry_action=body.authorization_expiry_action,
            automatic_capture=body.automatic_capture,
            cancel_labels=body.cancel_labels,
            store_credit_validity_days=(
                body.store_credit_validity_days
                if "store_credit_validity_days" in body.model_fields_set
                else merchants.UNCHANGED
            ),
        ),
        present=lambda merchant: _merchant_out(merchant).model_dump(mode="json"),
    )


@router.get("/reports/refunds", response_model=schemas_reports.RefundsReportOut)
def refunds_report(
    container: ContainerDep,
    caller: CallerDep,
    first_day: From,
    last_day: To,
    statuses: Statuses = None,
    methods: Methods = None,
    reason: ReasonText = None,
    staff: Staff = None,
    sort: Sort = "-created_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Refunds made in the range (all statuses unless filtered), newest first by default."""
    page = transactions.query(
        container.lagging_reads,
        lambda read: reports.refunds_report(
            read,
            caller.merchant_id,
            first_day,
            last_day,
            _filters(statuses, methods, reason, staff),
            sort=sort,
            limit=limit,
            offset=offset,
        ),
    )
    return _dump(
        schemas_reports.RefundsReportOut(
            from_day=page.span.first_day,
            to_day=page.span.last_day,
            timezone=page.span.timezone,
            total=page.total,
            limit=limit,
            offset=offset,
            data=_rows(schemas_reports.RefundReportRowOut, page.rows),
        )
    )


@router.get(
    "/reports/refunds.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one header row, then refunds"}},
)
def refunds_report_csv(
    container: ContainerDep,
    caller: CallerDep,
    first_day: From,
    last_day: To,
    statuses: Statuses = None,
    methods: Methods = None,
    reason: ReasonText = None,
    staff: Staff = None,
    sort: Sort = "created_at",
) -> StreamingResponse:
    """The refunds report as CSV, streamed row by row: amounts in major units with a
    currency column, ISO 8601 times, UTF-8 with a byte-order mark for Excel."""
    filters = _filters(statuses, methods, reason, staff)
    # Validate the range before the response starts: a bad range is a 422, not a cut CSV.
    transactions.query(
        container.lagging_reads,
        lambda read: reports.merchant_range(read, caller.merchant_id, first_day, last_day),
    )
    rows = reports.stream_refunds_report(
        container.lagging_reads, caller.merchant_id, first_day, last_day, filters, sort=sort
    )
    actors = merchant_actors(container, caller.merchant_id)
    filename = f"refunds-{first_day.isoformat()}-{last_day.isoformat()}.csv"
    return StreamingResponse(
        refund_report_csv(rows, actors),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/summary", response_model=schemas_reports.SummaryReportOut)
def summary_report(
    container: ContainerDep,
    caller: CallerDep,
    first_day: From,
    last_day: To,
    period: Granularity = Granularity.DAY,
) -> Response:
    """Per day, week or month: orders, gross, discounts, tax, shipping, cancellations,
    settled refunds and net sales; with totals per currency."""
    span, rows = transactions.query(
        container.lagging_reads,
        lambda read: reports.summary_report(read, caller.merchant_id, first_day, last_day, period),
    )
    return _dump(
        schemas_reports.SummaryReportOut(
            from_day=span.first_day,
            to_day=span.last_day,
            timezone=span.timezone,
            period=period,
            data=_rows(schemas_reports.SummaryRowOut, rows),
            totals=_rows(schemas_reports.SummaryRowOut, reports.totals(rows)),
        )
    )


@router.get("/reports/items", response_model=schemas_reports.ItemsReportOut)
def items_report(
    container: ContainerDep, caller: CallerDep, first_day: From, last_day: To
) -> Response:
    """Per SKU: units sold, cancelled and refunded; gross, discounts, refunds, net."""
    span, rows = transactions.query(
        container.lagging_reads,
        lambda read: reports.items_report(read, caller.merchant_id, first_day, last_day),
    )
    return _dump(
        schemas_reports.ItemsReportOut(
            from_day=span.first_day,
            to_day=span.last_day,
            timezone=span.timezone,
            data=_rows(schemas_reports.ItemRowOut, rows),
        )
    )


@router.get("/reports/reasons", response_model=schemas_reports.ReasonsReportOut)
def reasons_report(
    container: ContainerDep, caller: CallerDep, first_day: From, last_day: To
) -> Response:
    """Refund and cancellation reasons, grouped as written (case and spacing ignored),
    most frequent first: the causes a merchant can fix."""
    span, rows = transactions.query(
        container.lagging_reads,
        lambda read: reports.reasons_report(read, caller.merchant_id, first_day, last_day),
    )
    return _dump(
        schemas_reports.ReasonsReportOut(
            from_day=span.first_day,
            to_day=span.last_day,
            timezone=span.timezone,
            data=_rows(schemas_reports.ReasonRowOut, rows),
        )
    )


@router.get("/reports/dashboard", response_model=schemas_reports.DashboardOut)
def dashboard(container: ContainerDep, caller: CallerDep) -> Response:
    """Today, 7 and 30 days, and a daily series of sales against refunds for a chart."""
    board = transactions.query(
        container.lagging_reads, lambda read: reports.dashboard(read, caller.merchant_id)
    )
    return _dump(
        schemas_reports.DashboardOut(
            today=board.today,
            timezone=board.timezone,
            kpis={label: _rows(schemas_reports.KpiOut, kpis) for label, kpis in board.kpis.items()},
            series=[
                schemas_reports.SeriesPointOut(
                    day=row.period,
                    currency=row.currency,
                    sales=row.gross_sales - row.discounts,
                    refunds=row.refunded_sales,
                    net=row.net_sales,
                )
                for row in board.series
            ],
        )
    )
