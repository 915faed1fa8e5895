"""Returns: create one for shipped units, approve or decline it, receive what arrives, and
refund it (previewed first, with the same calculator and quote as every refund)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from refundry.domain.order import Order, ReturnLineRequest
from refundry.domain.refund import Refund, RefundBreakdown, RefundMethod
from refundry.domain.returns import OrderReturn, ReceivedUnits, ReturnNotFound
from refundry.services.clock import utcnow
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


def _locked_order(uow: UnitOfWork, merchant_id: uuid.UUID, return_id: uuid.UUID) -> Order:
    found = uow.orders.find_return(merchant_id, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}", return_id=str(return_id))
    return found[0]
