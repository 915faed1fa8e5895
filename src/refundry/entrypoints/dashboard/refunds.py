"""Seed 003's refund, in the dashboard: Refund (the purchased articles, a one-click full
refund, or Edit refund) -> Review refund (the exact amounts of the preview, bound by its
quote) -> Refund, with Edit refund to go back. The order then shows the refund's status
until the provider completes it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden, InvalidInput, NotFound, RefundryError
from refundry.domain.money import Money
from refundry.domain.order import LineRefundRequest, Order, RefundRequest
from refundry.domain.refund import RefundMethod
from refundry.domain.staff import Permission, RefundApproval
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard.refusals import (
    FormError,
    Reader,
    field_of,
    in_plain_words,
    shop_timezone,
)
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import clock, transactions
from refundry.services.handlers.refund_approvals import over_limit, refund_as_staff
from refundry.services.handlers.refunds import preview_refund
from refundry.services.handlers.staff import Session

router = APIRouter(include_in_schema=False)  # mounted at /dashboard

MAX_FIELD = 1000


@dataclass(frozen=True, slots=True)
class RefundForm:
    """What the refund forms send: ``full``, or lines, shipping and an amount (major units,
    as typed), with the description and the method."""

    full: bool
    quantities: dict[uuid.UUID, int] = field(default_factory=dict)
    shipping: str = ""
    amount: str = ""
    reason: str = ""
    method: RefundMethod = RefundMethod.ORIGINAL
    quote: str | None = None
    csrf: str | None = None

    def request(self, order: Order) -> RefundRequest:
        if self.full:
            if self.quantities or self.shipping or self.amount:
                raise InvalidInput("a full refund takes no articles, shipping or amount")
            return RefundRequest.full()
        lines = tuple(
            LineRefundRequest(order.line(line_id).id, quantity)
            for line_id, quantity in self.quantities.items()
            if quantity > 0
        )
        shipping = Money.parse(self.shipping, order.currency).minor if self.shipping else None
        amount = Money.parse(self.amount, order.currency).minor if self.amount else None
        if not lines and shipping is None and amount is None:
            raise InvalidInput("choose at least one article, shipping or an amount to refund")
        return RefundRequest(lines=lines, shipping=shipping, amount=amount)


async def refund_form(request: Request) -> RefundForm:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        if not isinstance(value, str):
            return ""
        if "\x00" in value:
            raise InvalidInput(f"{name} must not contain a NUL character")
        return value.strip()[:MAX_FIELD]

    quantities: dict[uuid.UUID, int] = {}
    for name, value in form.multi_items():
        if name.startswith("line-") and isinstance(value, str) and value.strip():
            try:
                quantities[uuid.UUID(name.removeprefix("line-"))] = int(value)
            except ValueError:
                raise InvalidInput(f"{value[:20]!r} is not a number of articles") from None
    try:
        method = RefundMethod(text("method") or RefundMethod.ORIGINAL.value)
    except ValueError:
        raise InvalidInput("choose the original card or other means") from None
    return RefundForm(
        full=text("mode") == "full",
        quantities=quantities,
        shipping=text("shipping"),
        amount=text("amount"),
        reason=text("reason"),
        method=method,
        quote=text("quote") or None,
        csrf=text("csrf") or None,
    )


FormDep = Annotated[RefundForm, Depends(refund_form)]


def _load(container: ContainerDep, current: Session, order_id: uuid.UUID) -> Order:
    return transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(current.member.merchant_id, order_id)
    )


def _refunder(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: RefundForm
) -> tuple[Session, Order] | None:
    """The signed-in member who may refund, having sent this session's form, and the order."""
    current = current_session(request, container)
    if current is None:
        return None
    current.check_csrf(form.csrf)
    current.member.require(Permission.REFUND)
    return current, _load(container, current, order_id)


@router.get("/orders/{order_id}/refund")
def refund_window(request: Request, container: ContainerDep, order_id: uuid.UUID) -> Response:
    """The purchased articles and their prices, a full refund in one click, or Edit refund."""
    return _blank_form(request, container, order_id, "choose")


@router.get("/orders/{order_id}/refund/edit")
def edit_refund(request: Request, container: ContainerDep, order_id: uuid.UUID) -> Response:
    return _blank_form(request, container, order_id, "edit")


def _blank_form(
    request: Request, container: ContainerDep, order_id: uuid.UUID, step: str
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REFUND)
    order = _load(container, current, order_id)
    return render(request, "refund.html", session=current, order=order, step=step,
                  form=RefundForm(full=False), now=clock.utcnow())  # fmt: skip


@router.post("/orders/{order_id}/refund/edit")
def back_to_edit(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: FormDep
) -> Response:
    """Edit refund, from the review: the form again, as it was filled in."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order = signed_in
    return render(request, "refund.html", session=current, order=order, step="edit", form=form,
                  now=clock.utcnow())  # fmt: skip


@router.post("/orders/{order_id}/refund/review")
def review_refund(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: FormDep
) -> Response:
    """The exact amounts the refund will give back, computed by the same calculator that
    makes it, and a quote that binds them."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order = signed_in
    try:
        preview = transactions.read(
            container.uow_factory,
            lambda uow: preview_refund(
                uow,
                container.quotes,
                current.member.merchant_id,
                order_id,
                form.request(order),
                form.method,
            ),
        )
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return _refused(request, container, current, order_id, form, error)
    needs_approval = over_limit(current.member, order, preview.breakdown.total)
    return render(request, "refund.html", session=current, order=preview.order, step="review",
                  form=form, preview=preview, needs_approval=needs_approval,
                  now=clock.utcnow())  # fmt: skip


@router.post("/orders/{order_id}/refund")
def make_refund(
    request: Request, container: ContainerDep, order_id: uuid.UUID, form: FormDep
) -> Response:
    """Refund exactly what was reviewed: the quote is checked under the order's lock."""
    signed_in = _refunder(request, container, order_id, form)
    if signed_in is None:
        return to_login()
    current, order = signed_in
    try:
        made = transactions.run(
            container.uow_factory,
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
        )
    except (Forbidden, NotFound):
        raise  # a missing permission, or above the limit with one waiting: the error page
    except RefundryError as error:
        return _refused(request, container, current, order_id, form, error)
    done = (
        "refund-awaiting-approval"
        if isinstance(made, RefundApproval)
        else f"refund-{made.refund.status.value}"
    )
    return RedirectResponse(f"/dashboard/orders/{order_id}?done={done}", status_code=303)


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
    merchant_id = current.member.merchant_id
    order, timezone = transactions.read(
        container.uow_factory,
        lambda uow: (uow.orders.get(merchant_id, order_id), shop_timezone(uow, merchant_id)),
    )
    step = "choose" if form.full else "edit"
    said = in_plain_words(error, order, Reader.of(request, timezone))
    return render(request, "refund.html", status_for(error), session=current, order=order,
                  step=step, form=form, now=clock.utcnow(),
                  refusal=FormError(step, said, field_of(error)))  # fmt: skip
