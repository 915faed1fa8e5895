"""Preview a refund ("review refund") and make it, with the same calculator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from refundry.domain.order import Order, RefundRequest
from refundry.domain.refund import Refund, RefundBreakdown, RefundMethod
from refundry.services.clock import utcnow
from refundry.services.handlers.quotes import Quote, QuoteSigner
from refundry.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class RefundPreview:
    order: Order
    breakdown: RefundBreakdown
    method: RefundMethod
    quote: Quote


@dataclass(frozen=True, slots=True)
class RefundMade:
    order: Order
    refund: Refund


def preview_refund(
    uow: UnitOfWork,
    signer: QuoteSigner,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    request: RefundRequest,
    method: RefundMethod | None,
) -> RefundPreview:
    """What the refund would give back, and a quote that commits exactly that. No writes."""
    order = uow.orders.get(merchant_id, order_id)
    method = order.refund_method(method)
    now = utcnow()
    breakdown = order.preview_refund(request, now)
    quote = signer.issue(order, breakdown, method, now)
    return RefundPreview(order, breakdown, method, quote)


def refund_order(
    uow: UnitOfWork,
    signer: QuoteSigner,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    request: RefundRequest,
    *,
    method: RefundMethod | None,
    reason: str | None,
    quote: str | None,
    actor: str,
) -> RefundMade:
    """Refund under the order's lock: the cumulative cap is checked against committed refunds."""
    now = utcnow()
    order = uow.orders.get(merchant_id, order_id)
    method = order.refund_method(method)
    breakdown = order.preview_refund(request, now)
    if quote is not None:
        signer.verify(quote, order, breakdown, method, now)
    refund = order.refund(request, method=method, reason=reason, created_by=actor, now=now)
    return RefundMade(order, refund)
