"""Create return, on an order with shipped units that can come back (seed 001: a
fulfilled order "cannot be cancelled ... you will have to create a return"): how many
units of each item and why, whether the customer asked (awaiting approval) or staff open
it at once, the fees kept and a note."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from refundry.domain.errors import Forbidden, InvalidAmount, InvalidInput, NotFound, RefundryError
from refundry.domain.money import Money
from refundry.domain.order import Order, ReturnLineRequest
from refundry.domain.returns import basis_points
from refundry.domain.staff import Permission
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.entrypoints.api.errors import status_for
from refundry.entrypoints.dashboard.refusals import Reader
from refundry.entrypoints.dashboard.rendering import render
from refundry.entrypoints.dashboard.return_forms import (
    FieldInvalid,
    FieldsDep,
    FormFields,
    plain_error,
)
from refundry.entrypoints.dashboard.routes import current_session, to_login
from refundry.services import transactions
from refundry.services.handlers import returns as handlers
from refundry.services.handlers.staff import Session

router = APIRouter(include_in_schema=False)  # mounted at /dashboard


@router.get("/orders/{order_id}/returns/new")
def new_return(request: Request, container: ContainerDep, order_id: uuid.UUID) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.member.require(Permission.REFUND)
    order = _load(container, current, order_id)
    if order is None:
        return render(request, "error.html", 404, session=current, message="No such order.")
    return _form(request, current, order, FormFields())


@router.post("/orders/{order_id}/returns")
def create(
    request: Request, container: ContainerDep, order_id: uuid.UUID, fields: FieldsDep
) -> Response:
    current = current_session(request, container)
    if current is None:
        return to_login()
    current.check_csrf(fields.text("csrf") or None)
    current.member.require(Permission.REFUND)
    order = _load(container, current, order_id)
    if order is None:
        return render(request, "error.html", 404, session=current, message="No such order.")
    try:
        lines = _lines(order, fields)
        fee_bp = _percent(fields.text("restocking_fee"))
        shipping_fee = _amount(order, fields.text("return_shipping_fee"))
        made = transactions.run(
            container.uow_factory,
            lambda uow: handlers.create_return(
                uow,
                current.member.merchant_id,
                order_id,
                lines,
                requested=fields.text("requested") == "yes",
                restocking_fee_bp=fee_bp,
                return_shipping_fee=shipping_fee,
                note=fields.text("note") or None,
                actor=current.member.actor,
            ),
        )
    except (Forbidden, NotFound):
        raise
    except RefundryError as error:
        return _form(request, current, order, fields, error)
    return RedirectResponse(
        f"/dashboard/returns/{made.order_return.id}?done=created", status_code=303
    )


def _load(container: ContainerDep, current: Session, order_id: uuid.UUID) -> Order | None:
    try:
        return transactions.read(
            container.uow_factory,
            lambda uow: uow.orders.get(current.member.merchant_id, order_id),
        )
    except NotFound:
        return None


def _form(
    request: Request,
    current: Session,
    order: Order,
    fields: FormFields,
    failure: RefundryError | None = None,
) -> Response:
    returnable = [
        (line, left) for line in order.lines if (left := order.returnable_quantity(line)) > 0
    ]
    return render(
        request,
        "return_new.html",
        status_code=200 if failure is None else status_for(failure),
        session=current,
        order=order,
        returnable=returnable,
        fields=fields,
        error=(
            None if failure is None else plain_error("create", failure, order, Reader.of(request))
        ),
    )


def _lines(order: Order, fields: FormFields) -> list[ReturnLineRequest]:
    wanted = []
    first = None
    for line in order.lines:
        name = f"quantity-{line.id}"
        if name not in fields:
            continue
        first = first or name
        quantity = fields.count(name, line.name)
        if quantity < 0:
            raise FieldInvalid(f"{line.name}: a number of units cannot be negative.", name)
        if quantity:
            wanted.append(
                ReturnLineRequest(line.id, quantity, fields.text(f"reason-{line.id}") or None)
            )
    if not wanted:
        raise FieldInvalid(
            "Choose at least one unit to return: enter how many units of an item come back.",
            first or "quantity",
        )
    return wanted


def _percent(text: str) -> int:
    try:
        return basis_points(text.removesuffix("%").strip().replace(",", ".") or "0")
    except InvalidInput as error:
        raise FieldInvalid(
            f"Restocking fee: {error.detail}. Enter a percentage from 0 to 100, like 10.",
            "restocking_fee",
        ) from None


def _amount(order: Order, text: str) -> int:
    try:
        fee = Money.parse(text or "0", order.currency).minor
    except InvalidAmount:
        example = Money(490 * 10**order.currency.exponent // 100, order.currency)
        raise FieldInvalid(
            f"Return-shipping fee: enter an amount in {order.currency.code}, "
            f"like {example.to_decimal_string()}.",
            "return_shipping_fee",
        ) from None
    if fee < 0:
        raise FieldInvalid("Return-shipping fee: it cannot be negative.", "return_shipping_fee")
    return fee
