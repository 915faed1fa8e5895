"""Seed 002's way in: Users (the merchant's customers, a page at a time, counted) and a
customer's Account History, with refunded purchases in red and the points balance; and
Reporting > Refunds, a date range and its CSV download."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AfterValidator

from refundry.domain.order import Order
from refundry.domain.reporting import CustomerRow, RefundFilters
from refundry.domain.staff import Permission
from refundry.entrypoints.actors import merchant_actors
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.dashboard.order_list import BROKEN_PAGE_LINK
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.report_pages import FIRST_DAY, LAST_DAY, From, To
from refundry.entrypoints.dashboard.return_forms import STATUS_LABELS as RETURN_STATUS_LABELS
from refundry.entrypoints.dashboard.routes import QueryText, current_session, refuse_nul, to_login
from refundry.entrypoints.keyset_cursor import decode_email_cursor, encode_cursor
from refundry.entrypoints.refund_report_csv import refund_report_csv
from refundry.services import clock, transactions
from refundry.services.handlers import points
from refundry.services.ports.read_model import ReadModel
from refundry.services.views import customers as customer_views
from refundry.services.views import points as points_views
from refundry.services.views import reports
from refundry.services.views import store_credit as store_credit_views
from refundry.services.views.store_credit import CustomerStoreCredit

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

Email = Annotated[str, Path(max_length=320), AfterValidator(refuse_nul)]
REPORT_DAYS = 30
CUSTOMERS_PER_PAGE = 50


@router.get("/customers")
def customers(
    request: Request,
    container: ContainerDep,
    query: QueryText = None,
    after: Annotated[str | None, Query(max_length=600)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The customers a part of an e-mail or an external id finds (all when none is typed),
    the latest orderer first, a page at a time; the search and the page are in the URL.
    ``page`` only numbers the rows shown: ``after`` (a cursor) says where the page starts."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    text = (query or "").strip()[:320] or None
    place = decode_email_cursor(after, refusal=BROKEN_PAGE_LINK)
    merchant_id = current.member.merchant_id

    def load(read: ReadModel) -> tuple[list[CustomerRow], int]:
        found = customer_views.customers_page(
            read, merchant_id, text, after=place, limit=CUSTOMERS_PER_PAGE + 1
        )
        return found, customer_views.customers_count(read, merchant_id, text)

    found, total = transactions.query(container.lagging_reads, load)
    shown = found[:CUSTOMERS_PER_PAGE]  # one more than a page says whether a next one exists
    last = shown[-1] if len(found) > len(shown) else None
    return render(
        request,
        "customers.html",
        session=current,
        customers=shown,
        query=text or "",
        total=total,
        next_cursor=None if last is None else encode_cursor(last.last_order_at, last.email),
        first_page=place is None,
        page=page if place is not None else 1,
        per_page=CUSTOMERS_PER_PAGE,
    )


@router.get("/customers/{email}")
def account_history(request: Request, container: ContainerDep, email: Email) -> Response:
    """A customer's purchases, newest first; refunded ones in red, with each refund's status."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    merchant_id = current.member.merchant_id

    def history(read: ReadModel) -> tuple[list[Order], int | None, CustomerStoreCredit | None]:
        purchases = read.orders.search(merchant_id, None, customer_email=email, limit=200, offset=0)
        if not purchases:
            return [], None, None
        key = points.customer_key(purchases[0])
        balance = points_views.customer_points(read, merchant_id, key, 1).balance
        credit = store_credit_views.customer_store_credit(read, merchant_id, key, limit=20)
        return list(purchases), balance, credit

    purchases, balance, credit = transactions.query(container.read_models, history)
    if not purchases:
        return render(request, "error.html", 404, session=current, message="No such customer.")
    return render(
        request,
        "history.html",
        session=current,
        email=email,
        purchases=purchases,
        points_balance=balance,
        store_credit=credit,
        can_refund=current.member.can(Permission.REFUND),
        return_labels=RETURN_STATUS_LABELS,
    )


@router.get("/reports/refunds")
def refunds_report(
    request: Request,
    container: ContainerDep,
    first_day: From = None,
    last_day: To = None,
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REPORTS)
    last = last_day or clock.utcnow().date()
    first = first_day or last - timedelta(days=REPORT_DAYS - 1)
    page = transactions.query(
        container.read_models,
        lambda read: reports.refunds_report(
            read, current.member.merchant_id, first, last, RefundFilters(), limit=200
        ),
    )
    actors = merchant_actors(container, current.member.merchant_id)
    return render(
        request,
        "report_refunds.html",
        session=current,
        page=page,
        first=first,
        last=last,
        actors=actors,
    )


@router.get("/reports/refunds.csv")
def refunds_report_csv(
    request: Request,
    container: ContainerDep,
    first_day: Annotated[date, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY)],
    last_day: Annotated[date, Query(alias="to", ge=FIRST_DAY, le=LAST_DAY)],
) -> Response:
    """The same CSV as the API's, streamed."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REPORTS)
    merchant_id = current.member.merchant_id
    transactions.query(  # a bad range is an error page, not a cut file
        container.lagging_reads,
        lambda read: reports.merchant_range(read, merchant_id, first_day, last_day),
    )
    rows = reports.stream_refunds_report(
        container.lagging_reads, merchant_id, first_day, last_day, RefundFilters()
    )
    filename = f"refunds-{first_day.isoformat()}-{last_day.isoformat()}.csv"
    return StreamingResponse(
        refund_report_csv(rows, merchant_actors(container, merchant_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
