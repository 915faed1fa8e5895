"""Seed 003's refund, in the dashboard: Refund (the purchased articles and shipping adding
up to what is refundable, a one-click full refund, or Edit refund) -> Review refund (the
exact amounts of the preview, bound by its quote) -> Refund, with Edit refund to go back.
Edit refund shows the refund's total as it is filled in, by the same preview. Only Refund
posts, and answers with a redirect, refused or not: to the order when the refund is made,
else back to the form it came from with the refusal's code, so Back and reload from either
come to a page, never to "Confirm form resubmission" (Chrome's ERR_CACHE_MISS). The order
then shows the refund's status until the provider completes it."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import EmptyRefund, Forbidden, InvalidInput, NotFound, RefundryError
from refundry.domain.money import Money
from refundry.domain.order import Order, RefundRequest
from refundry.domain.staff import Permission, RefundApproval
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard.refund_form import RefundForm, read_refund_form, refund_form
from refundry.entrypoints.dashboard.refusals import (
    FormError,
    Reader,
    field_of,
    in_plain_words,
    said_by_code,
    shop_timezone,
)
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import clock, transactions
from refundry.services.handlers.refund_approvals import over_limit, refund_as_staff
from refundry.services.handlers.refunds import RefundMade, RefundPreview, preview_refund
from refundry.services.handlers.staff import Session

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

FormDep = Annotated[RefundForm, Depends(refund_form)]
# Why the Refund that sent the agent back to this form was refused: its code, never words.
RefusedDep = Annotated[str | None, Query(max_length=64)]
NOT_MADE = "The refund was not made. Review it again."


@dataclass(frozen=True, slots=True)
class Summary:
    """Edit refund's running total: the preview's total, or why there is none (a refusal,
    its field marked); neither while nothing is chosen."""

    total: Money | None = None
    refusal: FormError | None = None


def _load(container: ContainerDep, current: Session, order_id: uuid.UUID) -> tuple[Order, str]:
    """The order and the shop's time zone (a refusal may name a day in it)."""
    merchant_id = current.member.merchant_id
    return transactions.read(
        container.uow_factory,
        lambda uow: (uow.orders.get(merchant_id, order_id), shop_timezone(uow, merchant_id)),
    )


def _refunder(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: RefundForm
) -> tuple[Session, Order, str] | None:
    """The signed-in member who may refund, having sent this session's form when it
    posts (a GET only reads: its form is in the URL, which never holds the token)."""
    current = current_session(request, container)
    if current is None:
        return None
    if request.method == "POST":
        current.check_csrf(form.csrf)
    current.member.require(Permission.REFUND)
    return current, *_load(container, current, order_id)


@router.get("/orders/{order_id}/refund")
def refund_window(
    request: Request,
    container: ContainerDep,
    order_id: uuid.UUID,
    form: FormDep,
    refused: RefusedDep = None,
) -> Response:
    """The purchased articles and shipping, adding up to what is refundable now; a full
    refund in one click, or Edit refund."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order, timezone = signed_in
    said = _refusal_of(request, container, current, order, timezone, form, refused, "choose")
    return _page(request, current, order, "choose", form, refusal=said)


# POST too: a review page opened before Review refund became a GET posts its Edit refund.
@router.api_route("/orders/{order_id}/refund/edit", methods=["GET", "POST"])
def edit_refund(
    request: Request,
    container: ContainerDep,
    order_id: uuid.UUID,
    form: FormDep,
    refused: RefusedDep = None,
) -> Response:
    """Edit refund: from the first step, its "Refund to" and restock choice kept; from
    the review, everything as it was filled in; its total shown as it is; after a refused
    Refund, why."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order, timezone = signed_in
    form = dataclasses.replace(form, full=False)  # from the first step's Edit refund
    summary = _summary(request, container, current, order, timezone, form)
    said = _refusal_of(request, container, current, order, timezone, form, refused, "edit", summary)
    return _page(request, current, order, "edit", form, summary=summary, refusal=said)


# POST too: an Edit refund page opened before this became a GET posts to it.
@router.api_route("/orders/{order_id}/refund/review", methods=["GET", "POST"])
def review_refund(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: FormDep
) -> Response:
    """The exact amounts the refund will give back, computed by the same calculator that
    makes it, and a quote that binds them. Nothing is written, so a GET: Back from the
    order after the refund comes here again, reviewed afresh."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order, _ = signed_in
    if not form.attempt:
        # A review reached without the form's attempt (a page from before forms carried
        # one, a link made by hand) is sent to itself with one, so the URL Back returns to
        # carries it and Refund sent again from there is made once (RefundForm.once_key).
        query = urlencode([*dataclasses.replace(form, attempt=uuid.uuid4().hex).carried()])
        return RedirectResponse(f"/dashboard/orders/{order_id}/refund/review?{query}", 303)
    try:
        preview = _preview(container, current, order, form)
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return _refused(request, container, current, order_id, form, error)
    total = preview.breakdown.total
    needs_approval = over_limit(current.member, order, total)
    # on an order store credit paid part of, that part comes back as store credit first
    as_store_credit = preview.order.store_credit_part(total, preview.method)
    return render(request, "refund.html", session=current, order=preview.order, step="review",
                  form=form, preview=preview, needs_approval=needs_approval,
                  as_store_credit=as_store_credit, now=clock.utcnow())  # fmt: skip


@router.get("/orders/{order_id}/refund/total")
def refund_total(request: Request, container: ContainerDep, order_id: uuid.UUID) -> Response:
    """Edit refund's total as the form changes (htmx), by the preview Review refund
    shows, and a refusal beside the field it is about; nothing is written."""
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REFUND)
    order, timezone = _load(container, current, order_id)
    try:
        form = read_refund_form(request.query_params)
    except InvalidInput as error:
        summary = Summary(refusal=_said(request, order, timezone, error))
    else:
        summary = _summary(request, container, current, order, timezone, form)
    return render(request, "refund_summary.html", order=order, summary=summary, live=True)


def _preview(
    container: ContainerDep, current: Session, order: Order, form: RefundForm
) -> RefundPreview:
    return transactions.read(
        container.uow_factory,
        lambda uow: preview_refund(
            uow,
            container.quotes,
            current.member.merchant_id,
            order.id,
            form.request(order),
            form.method,
        ),
    )


def _summary(
    request: Request,
    container: ContainerDep,
    current: Session,
    order: Order,
    timezone: str,
    form: RefundForm,
) -> Summary:
    try:
        preview = _preview(container, current, order, form)
    except EmptyRefund:
        return Summary()
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return Summary(refusal=_said(request, order, timezone, error))
    return Summary(total=preview.breakdown.total)


def _said(
    request: Request, order: Order, timezone: str, error: RefundryError, step: str = "edit"
) -> FormError:
    said = in_plain_words(error, order, Reader.of(request, timezone))
    return FormError(step, said, field_of(error))


def _full_refund(order: Order, now: datetime) -> Money | None:
    """What Full refund gives back, by the calculator (it may be less than what is
    refundable: opened gift-card links stay with their customers); None when refused."""
    try:
        return order.preview_refund(RefundRequest.full(), now).total
    except RefundryError:
        return None


def _page(
    request: Request,
    current: Session,
    order: Order,
    step: str,
    form: RefundForm,
    *,
    status_code: int = 200,
    summary: Summary | None = None,
    refusal: FormError | None = None,
) -> Response:
    """The first step or Edit refund, as filled in; a form opened afresh is a new attempt
    (``RefundForm.once_key``)."""
    now = clock.utcnow()
    if not form.attempt:
        form = dataclasses.replace(form, attempt=uuid.uuid4().hex)
    return render(request, "refund.html", status_code, session=current, order=order, step=step,
                  form=form, now=now, full_refund=_full_refund(order, now),
                  shipped=sum(order.returnable_quantity(line) for line in order.lines),
                  summary=summary or Summary(), refusal=refusal)  # fmt: skip


@router.post("/orders/{order_id}/refund")
def make_refund(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: FormDep
) -> Response:
    """Refund exactly what was reviewed: the quote is checked under the order's lock."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order, _ = signed_in
    once = form.once_key()
    key = None if once is None else transactions.IdempotencyKey.for_request(
        current.member.merchant_id, once, "POST", request.url.path, once
    )  # fmt: skip
    try:
        outcome = transactions.run_idempotently(
            container.uow_factory,
            key,
            lambda uow: refund_as_staff(
                uow,
                container.quotes,
                current.member,
                order_id,
                form.request(order),
                method=form.method,
                reason=form.reason or None,
                quote=form.quote,
            ),
            _done,
            status_code=303,
        )
    except (Forbidden, NotFound):
        raise  # a missing permission, or above the limit with one waiting: the error page
    except RefundryError as error:
        return _back_to_the_form(order_id, form, error)
    # Refund sent again (Back to the review, then Refund) made nothing: the order page says
    # so, not "Refund made" a second time.
    done = "refund-already-made" if outcome.replayed else json.loads(outcome.body)["done"]
    return RedirectResponse(f"/dashboard/orders/{order_id}?done={done}", status_code=303)


def _done(made: RefundMade | RefundApproval) -> dict[str, str]:
    """What the order page says after Refund."""
    if isinstance(made, RefundApproval):
        return {"done": "refund-awaiting-approval"}
    return {"done": f"refund-{made.refund.status.value}"}


def _refused(
    request: Request,
    container: ContainerDep,
    current: Session,
    order_id: uuid.UUID,
    form: RefundForm,
    error: RefundryError,
) -> Response:
    """The form that was sent (a full refund's first step, else Edit refund), as it was
    filled in, with why it was refused on it; nothing was written. The order is read
    again: a stale review means it changed meanwhile."""
    order, timezone = _load(container, current, order_id)
    step = "choose" if form.full else "edit"
    summary = None if form.full else _summary(request, container, current, order, timezone, form)
    return _page(request, current, order, step, form, status_code=status_for(error),
                 summary=summary, refusal=_said(request, order, timezone, error, step))  # fmt: skip


def _back_to_the_form(order_id: uuid.UUID, form: RefundForm, error: RefundryError) -> Response:
    """A refused Refund wrote nothing: back to the form it was sent from (a full refund's
    first step, else Edit refund), as it was filled in, by a redirect, so that Back and
    reload come to pages (a refusal rendered as the POST's own answer was Chrome's
    ERR_CACHE_MISS on Back). The URL carries what the review's own URL carries, and the
    refusal's code, which the page puts in words (``_refusal_of``)."""
    step = "" if form.full else "/edit"
    query = urlencode([*form.carried(), ("refused", error.code)])
    return RedirectResponse(f"/dashboard/orders/{order_id}/refund{step}?{query}", status_code=303)


def _refusal_of(
    request: Request,
    container: ContainerDep,
    current: Session,
    order: Order,
    timezone: str,
    form: RefundForm,
    code: str | None,
    step: str,
    summary: Summary | None = None,
) -> FormError | None:
    """Why the Refund that sent the agent back here was refused, by its code: the words of
    that code, or, for a refusal whose words need its amounts, the form's refusal as the
    order stands now (the same preview refuses it the same way); a code that says neither
    (someone else's link) only says the refund was not made."""
    if code is None:
        return None
    said = said_by_code(code)
    if said is not None:
        return FormError(step, said)
    summary = summary or _summary(request, container, current, order, timezone, form)
    if summary.refusal is not None:
        return dataclasses.replace(summary.refusal, form=step)
    return FormError(step, NOT_MADE)
