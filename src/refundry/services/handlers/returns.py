"""Returns: create one for shipped units, approve or decline it, receive what arrives, and
refund it (previewed first, with the same calculator and quote as every refund) or
exchange it for a replacement order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from refundry.domain.errors import InvalidInput
from refundry.domain.money import Money
from refundry.domain.order import (
    CaptureMode,
    NewLine,
    Order,
    PaymentMethod,
    ReturnLineRequest,
    carried_value,
    new_order_total,
)
from refundry.domain.refund import Refund, RefundBreakdown, RefundMethod
from refundry.domain.returns import OrderReturn, ReceivedUnits, ReturnNotFound
from refundry.services.clock import utcnow
from refundry.services.handlers import store_credit
from refundry.services.handlers.orders import PlaceOrder, admit_order, build_order
from refundry.services.handlers.quotes import Quote, QuoteSigner
from refundry.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ReturnChange:
    order: Order
    order_return: OrderReturn


@dataclass(frozen=True, slots=True)
class ReturnRefundPreview:
    order: Order
    order_return: OrderReturn
    breakdown: RefundBreakdown
    method: RefundMethod
    quote: Quote


@dataclass(frozen=True, slots=True)
class ReturnRefunded:
    order: Order
    order_return: OrderReturn
    refund: Refund


def create_return(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: Sequence[ReturnLineRequest],
    *,
    requested: bool,
    restocking_fee_bp: int,
    return_shipping_fee: int,
    note: str | None,
    actor: str,
) -> ReturnChange:
    order = uow.orders.get(merchant_id, order_id)
    made = order.create_return(
        lines,
        requested=requested,
        restocking_fee_bp=restocking_fee_bp,
        return_shipping_fee=return_shipping_fee,
        note=note,
        actor=actor,
        now=utcnow(),
    )
    return ReturnChange(order, made)


def approve_return(
    uow: UnitOfWork, merchant_id: uuid.UUID, return_id: uuid.UUID, *, actor: str
) -> ReturnChange:
    order = _locked_order(uow, merchant_id, return_id)
    order.approve_return(return_id, actor, utcnow())
    return ReturnChange(order, order.return_by_id(return_id))


def decline_return(
    uow: UnitOfWork, merchant_id: uuid.UUID, return_id: uuid.UUID, *, reason: str, actor: str
) -> ReturnChange:
    order = _locked_order(uow, merchant_id, return_id)
    order.decline_return(return_id, reason, actor, utcnow())
    return ReturnChange(order, order.return_by_id(return_id))


def cancel_return(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    return_id: uuid.UUID,
    *,
    reason: str | None,
    actor: str,
) -> ReturnChange:
    order = _locked_order(uow, merchant_id, return_id)
    order.cancel_return(return_id, reason, actor, utcnow())
    return ReturnChange(order, order.return_by_id(return_id))


def receive_return(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    return_id: uuid.UUID,
    units: Sequence[ReceivedUnits],
    *,
    actor: str,
) -> ReturnChange:
    """Under the order's lock: two receipts of one return take turns, so a unit is
    restocked once however the requests race."""
    order = _locked_order(uow, merchant_id, return_id)
    order.receive_return(return_id, units, actor, utcnow())
    return ReturnChange(order, order.return_by_id(return_id))


def preview_return_refund(
    uow: UnitOfWork,
    signer: QuoteSigner,
    merchant_id: uuid.UUID,
    return_id: uuid.UUID,
    method: RefundMethod | None,
) -> ReturnRefundPreview:
    """What refunding the return would give back, and a quote that commits exactly that."""
    order = _locked_order(uow, merchant_id, return_id)
    method = order.refund_method(method)
    now = utcnow()
    breakdown = order.preview_return_refund(return_id, now)
    quote = signer.issue(order, breakdown, method, now)
    return ReturnRefundPreview(order, order.return_by_id(return_id), breakdown, method, quote)


def refund_return(
    uow: UnitOfWork,
    signer: QuoteSigner,
    merchant_id: uuid.UUID,
    return_id: uuid.UUID,
    *,
    method: RefundMethod | None,
    reason: str | None,
    quote: str | None,
    actor: str,
) -> ReturnRefunded:
    now = utcnow()
    order = _locked_order(uow, merchant_id, return_id)
    method = order.refund_method(method)
    if quote is not None:
        signer.verify(quote, order, order.preview_return_refund(return_id, now), method, now)
    refund = order.refund_return(return_id, method=method, reason=reason, actor=actor, now=now)
    return ReturnRefunded(order, order.return_by_id(return_id), refund)


@dataclass(frozen=True, slots=True)
class ReplacementOrder:
    """The replacement an exchange places: its lines and shipping, and, when it costs more
    than the return is worth, how the checkout took the difference."""

    lines: Sequence[NewLine]
    shipping_amount: int = 0
    shipping_tax: int = 0
    external_id: str | None = None
    payment_reference: str | None = None
    # When it costs more than the return: False, it waits for the customer to pay the
    # difference (pending; the checkout authorizes and captures it later); True, the
    # checkout took it already.
    difference_paid: bool = False


@dataclass(frozen=True, slots=True)
class ReturnExchanged:
    order: Order
    order_return: OrderReturn
    replacement: Order
    carried: Refund  # the return's refund, carried to the replacement as store credit
    difference_refunded: Refund | None  # the return was worth more than its replacement
    difference_owed: Money  # the replacement cost more: the money part, paid or waiting


def exchange_return(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    return_id: uuid.UUID,
    replacement: ReplacementOrder,
    *,
    actor: str,
) -> ReturnExchanged:
    """In one change: the replacement order is placed, paid by the return's value (carried
    as store credit and spent at once); a difference in the customer's favour is refunded
    the way they paid; one in the merchant's favour is the replacement's money part, which
    waits for the customer (the order is pending until its checkout authorizes and
    captures it) unless the checkout took it already."""
    if replacement.difference_paid and not replacement.payment_reference:
        raise InvalidInput(
            "difference_paid needs the payment_reference of the payment the checkout took "
            "for the difference; without it the replacement waits for the payment"
        )
    now = utcnow()
    order = _locked_order(uow, merchant_id, return_id)
    value = order.exchange_value(return_id, now)
    total = new_order_total(
        replacement.lines, replacement.shipping_amount, replacement.shipping_tax, order.currency
    )
    carried = carried_value(value, total)
    new_order = build_order(
        uow,
        PlaceOrder(
            merchant_id=merchant_id,
            external_id=replacement.external_id,
            customer=order.customer,
            currency_code=order.currency.code,
            lines=replacement.lines,
            shipping_amount=replacement.shipping_amount,
            shipping_tax=replacement.shipping_tax,
            payment_method=_difference_method(order) if total > carried else PaymentMethod.CARD,
            capture_mode=CaptureMode.AUTOMATIC,
            authorized=None if replacement.difference_paid or total == carried else 0,
            payment_reference=replacement.payment_reference,
            store_credit=carried.minor,
            actor=actor,
        ),
        now,
    )
    refund, rest = order.exchange_return(
        return_id, carried=carried, replacement_id=new_order.id, actor=actor, now=now
    )
    store_credit.credit_at_once(uow, order, now)
    admit_order(uow, new_order, actor, now)
    return ReturnExchanged(
        order, order.return_by_id(return_id), new_order, refund, rest, total - carried
    )


def _difference_method(order: Order) -> PaymentMethod:
    """How the replacement's checkout takes what the return does not cover: the way the
    original was paid, by card when that was store credit itself."""
    if order.payment.method is PaymentMethod.STORE_CREDIT:
        return PaymentMethod.CARD
    return order.payment.method


def _locked_order(uow: UnitOfWork, merchant_id: uuid.UUID, return_id: uuid.UUID) -> Order:
    found = uow.orders.find_return(merchant_id, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}", return_id=str(return_id))
    return found[0]
