"""Sales > Returns (seed 001): every return, newest first (or oldest first, or by the
amount refunded), by status or found by order, return or customer; and a return's page,
with what its status allows: approve or decline a request, receive units (resellable or
damaged), cancel, and refund (return_refunds.py).

Every action checks the session, the CSRF token and the refund permission on the server;
a refusal is shown in plain words on the form that caused it, and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden, InvalidInput, NotFound, RefundryError
from refundry.domain.order import EXCHANGE_DIFFERENCE_REASON, Order
from refundry.domain.refund import Refund
from refundry.domain.returns import AfterSales, OrderReturn, ReceivedUnits, ReturnStatus
from refundry.domain.saved_views import Listing
from refundry.domain.staff import Permission, StaffMember
from refundry.domain.status import OrderStatus
from refundry.entrypoints.actors import Actors
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard.refusals import Reader
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.return_forms import (
    DESTINATIONS,
    STATUS_LABELS,
    FieldInvalid,
    FieldsDep,
    FormFields,
    default_receipt,
    history,
    plain_error,
    short_id,
)
from refundry.entrypoints.dashboard.routes import QueryText, current_session, to_login
from refundry.entrypoints.dashboard.view_tabs import SaveRefused, ViewTabs, member_views
from refundry.entrypoints.keyset_cursor import decode_amount_cursor, decode_cursor, encode_cursor
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.handlers.saved_views import CANCELLATIONS, filters_for
from refundry.services.handlers.staff import Session
from refundry.services.ports.read_model import ReadModel
from refundry.services.ports.repositories import AfterSalesCounts, ReturnSort
from refundry.services.unit_of_work import UnitOfWork
from refundry.services.views import returns as views

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

PAGE_SIZE = 50
SORTS = {  # as Orders' (order_list.SORTS): a return's amount is what it refunded
    ReturnSort.NEWEST: "Newest first",
    ReturnSort.OLDEST: "Oldest first",
    ReturnSort.HIGHEST_AMOUNT: "Highest amount",
    ReturnSort.LOWEST_AMOUNT: "Lowest amount",
}


# --------------------------------------------------------------------- the list
@router.get("/returns")
def returns_list(
    request: Request,
    container: ContainerDep,
    query: QueryText = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str | None, Query(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Newest first (or as ``sort`` says), one status or all, found by order id, external
    id, return id or the customer's e-mail; "Next page" carries on after the last one shown.
    ``page`` only numbers the rows shown (as on Orders): ``after`` (a cursor) says where the
    page starts."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    return show_returns(request, container, current, query, status, after, page, sort=sort)


def show_returns(
    request: Request,
    container: ContainerDep,
    current: Session,
    query: str | None,
    status: str | None,
    after: str | None = None,
    page_number: int = 1,
    *,
    sort: str | None = None,
    refused: SaveRefused | None = None,
) -> Response:
    """The list; after a refused Save view, with why on its dialog, open again as typed."""
    text = (query or "").strip()[:320] or None
    try:
        order = ReturnSort(sort) if sort else ReturnSort.NEWEST
    except ValueError:
        raise InvalidInput(f"{sort!r} is not a sort of returns") from None
    cancellations = status == CANCELLATIONS_TAB
    try:  # "All" sends no status; Cancellations lists the refunds cancels made
        wanted = ReturnStatus(status) if status and not cancellations else None
    except ValueError:
        raise InvalidInput(f"{status!r} is not a return status") from None
    records = (
        AfterSales.CANCELLATIONS
        if cancellations
        else AfterSales.RETURNS
        if wanted is not None
        else AfterSales.BOTH
    )
    decode = decode_amount_cursor if order.is_by_amount else decode_cursor
    place = decode(after, refusal="that page link is broken; start again from the first page")
    merchant_id = current.member.merchant_id

    def load(read: ReadModel) -> tuple[list[tuple[Order, OrderReturn | Refund]], AfterSalesCounts]:
        found = views.list_after_sales(
            read,
            merchant_id,
            status=wanted,
            query=text,
            after=place,
            limit=PAGE_SIZE + 1,  # one more tells whether a next page exists
            records=records,
            sort=order,
        )
        return found, views.after_sales_counts(read, merchant_id, text)

    found, counts = transactions.query(container.lagging_reads, load)
    rows, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    tabs = ViewTabs(
        Listing.RETURNS,
        member_views(container, current, Listing.RETURNS),
        filters_for(Listing.RETURNS, status=status, search=text, sort=sort),
        labels={status.value: label for status, label in STATUS_LABELS.items()}
        | {CANCELLATIONS_TAB: "Cancellations"}
        | {way.value: label for way, label in SORTS.items()},
        refused=refused,
    )
    return render(
        request,
        "returns.html",
        200 if refused is None else refused.status_code,
        session=current,
        rows=rows,
        query=text or "",
        status=wanted,
        cancellations=cancellations,
        statuses=STATUS_LABELS,
        sort=order,
        sorts=SORTS,
        next_cursor=encode_cursor(*order.place_of(*rows[-1])) if more else None,
        first_page=place is None,
        page=page_number if place is not None else 1,
        per_page=PAGE_SIZE,
        counts=counts,
        total=counts.total(wanted, records),
        short_id=short_id,
        refunded=_refunded,
        is_return=lambda record: isinstance(record, OrderReturn),
        tabs=tabs,
    )


CANCELLATIONS_TAB = CANCELLATIONS  # a tab of the list, not a return status


def _refunded(order: Order, order_return: OrderReturn) -> Refund | None:
    return None if order_return.refund_id is None else order.refund_by_id(order_return.refund_id)


# ------------------------------------------------------------------ the return
@router.get("/returns/{return_id}")
def return_page(
    request: Request, container: ContainerDep, return_id: uuid.UUID, done: str | None = None
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    return show(request, container, current, return_id, done=done)


def show(
    request: Request,
    container: ContainerDep,
    current: Session,
    return_id: uuid.UUID,
    *,
    done: str | None = None,
    failure: tuple[str, RefundryError] | None = None,
    fields: FormFields | None = None,
) -> Response:
    """The return page; after a refusal, with its reason on the form that was sent
    (``failure``: the form's name and the error) and that form as it was filled in."""

    def load(uow: UnitOfWork) -> tuple[Order, OrderReturn, list[StaffMember], bool]:
        merchant_id = current.member.merchant_id
        found = uow.orders.find_return(merchant_id, return_id)
        if found is None:
            raise NotFound("no such return")
        replacement = found[1].exchange_order_id
        waits = replacement is not None and uow.orders.get(merchant_id, replacement).status in (
            OrderStatus.PENDING,
            OrderStatus.AUTHORIZED,
        )
        return found[0], found[1], uow.staff.members(merchant_id), waits

    try:
        order, order_return, members, replacement_waits = transactions.read(
            container.uow_factory, load
        )
    except NotFound:
        return render(request, "error.html", 404, session=current, message="No such return.")
    error = None
    if failure is not None:
        error = plain_error(failure[0], failure[1], order, Reader.of(request), order_return)
    filled = dict(default_receipt(order_return))
    filled.update(fields or {})
    return render(
        request,
        "return.html",
        status_code=200 if failure is None else status_for(failure[1]),
        session=current,
        order=order,
        order_return=order_return,
        refund=_refunded(order, order_return),
        history=history(
            order, order_return, Actors.of(order, members, container.settings.card_provider)
        ),
        statuses=STATUS_LABELS,
        destinations=DESTINATIONS,
        difference_reason=EXCHANGE_DIFFERENCE_REASON,
        replacement_waits=replacement_waits,
        short_id=short_id,
        can_refund=current.member.can(Permission.REFUND),
        done=done,
        error=error,
        fields=filled,
    )


# --------------------------------------------------------------------- actions
UseCase = Callable[[UnitOfWork], object]


def act(
    request: Request,
    container: ContainerDep,
    return_id: uuid.UUID,
    fields: FormFields,
    form: str,
    use_case_for: Callable[[Session], UseCase],
    *,
    done: str,
) -> Response:
    """Run one action on the return for the signed-in member: session, CSRF token and the
    refund permission first (refused on an error page); then a refusal of the action
    itself is shown on the form that was sent, and nothing is written."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(fields.text("csrf") or None)
    current.member.require(Permission.REFUND)
    try:  # reading the form is part of the action: what cannot be read is refused too
        transactions.run(container.uow_factory, use_case_for(current))
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return show(request, container, current, return_id, failure=(form, error), fields=fields)
    return RedirectResponse(f"/dashboard/returns/{return_id}?done={done}", status_code=303)


@router.post("/returns/{return_id}/approve")
def approve(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """A requested return is approved: it is open, and the customer may send the units."""
    return act(request, container, return_id, fields, "approve", lambda current: (
        lambda uow: handlers.approve_return(
            uow, current.member.merchant_id, return_id, actor=current.member.actor
        )
    ), done="approved")  # fmt: skip


@router.post("/returns/{return_id}/decline")
def decline(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """A requested return is refused, with the reason the customer will be told."""

    def use_case(current: Session) -> UseCase:
        reason = fields.text("reason")
        if not reason:
            raise FieldInvalid(
                "Say why you decline the return: the customer will be told.", "reason"
            )
        return lambda uow: handlers.decline_return(
            uow, current.member.merchant_id, return_id, reason=reason, actor=current.member.actor
        )

    return act(request, container, return_id, fields, "decline", use_case, done="declined")


@router.post("/returns/{return_id}/cancel")
def cancel(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """An open return is withdrawn while nothing has arrived; its units are released."""
    return act(request, container, return_id, fields, "cancel", lambda current: (
        lambda uow: handlers.cancel_return(
            uow, current.member.merchant_id, return_id,
            reason=fields.text("reason") or None, actor=current.member.actor,
        )
    ), done="cancelled")  # fmt: skip


@router.post("/returns/{return_id}/receive")
def receive(
    request: Request, container: ContainerDep, return_id: uuid.UUID, fields: FieldsDep
) -> Response:
    """Units arrived: resellable ones go back on the shelf now, damaged ones do not."""

    def use_case(current: Session) -> UseCase:
        units = []
        for name in fields:
            if name.startswith("resellable-"):
                line_id = name.removeprefix("resellable-")
                try:
                    order_line_id = uuid.UUID(line_id)
                except ValueError:
                    raise InvalidInput("the form names an item this return does not list") from None
                units.append(
                    ReceivedUnits(
                        order_line_id,
                        fields.count(name, "Resellable units"),
                        fields.count(f"damaged-{line_id}", "Damaged units"),
                    )
                )
        return lambda uow: handlers.receive_return(
            uow, current.member.merchant_id, return_id, units, actor=current.member.actor
        )

    return act(request, container, return_id, fields, "receive", use_case, done="received")
