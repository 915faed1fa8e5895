"""Giving money back: recording refunds under the cap, and following them to the end.

Every refund is recorded by ``record_refund``: the calculator works out its breakdown (and
refuses anything over the cap: pending and completed refunds never exceed the capture),
the points share is charged to it, and the order's status is derived from the ledger.
The commands here are bound as methods on ``Order``: ``refund``, ``auto_refund`` and
``record_external_refund``; what the provider answers about a refund afterwards is in
``refund_outcomes``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.errors import (
    InvalidInput,
    OrderNotAutoRefundable,
    RefundExceedsRefundable,
    RefundNotFound,
    StoreCreditNotAllowed,
)
from refundry.domain.events import OrderAutoRefunded, OrderRefunded, RefundRequested
from refundry.domain.money import Money
from refundry.domain.order import gift_cards, restock
from refundry.domain.order.payment import PaymentMethod
from refundry.domain.order.points import points_value_share, rebalance_points
from refundry.domain.order.refund_calculation import RefundRequest, calculate_refund
from refundry.domain.order.root import OrderRoot
from refundry.domain.order.store_credit import credit_if_settled, store_credit_part
from refundry.domain.refund import (
    Refund,
    RefundBreakdown,
    RefundKind,
    RefundMethod,
)
from refundry.domain.status import TERMINAL_STATUSES, OrderStatus

AUTO_REFUND_REASON = (
    "Reversed automatically: the redeem order's transaction record was still missing "
    "at reconciliation"
)


# ------------------------------------------------------------------ queries
def refund_by_id(order: OrderRoot, refund_id: uuid.UUID) -> Refund:
    for refund in order.refunds:
        if refund.id == refund_id:
            return refund
    raise RefundNotFound(f"order {order.id} has no refund {refund_id}")


def refund_method(order: OrderRoot, requested: RefundMethod | None) -> RefundMethod:
    """The method a refund really takes. ``original`` is the way the customer paid (the
    float, for a float-paid order); only a float-paid order can be refunded to a float,
    and it cannot be refunded to store credit (the float is the merchant's money, not a
    consumer's)."""
    if requested is None or requested is RefundMethod.ORIGINAL:
        return default_refund_method(order)
    if requested is RefundMethod.STORE_CREDIT and order.payment.method is PaymentMethod.FLOAT:
        raise StoreCreditNotAllowed(
            "an order paid from the merchant's float cannot be refunded to store credit",
            method=requested.value,
        )
    if requested is RefundMethod.FLOAT and order.payment.method is not PaymentMethod.FLOAT:
        raise InvalidInput(
            "only an order paid from the merchant's float can be refunded to the float",
            method=requested.value,
        )
    return requested


def default_refund_method(order: OrderRoot) -> RefundMethod:
    """The method of refunds nobody chose one for (cancellations, reversals)."""
    if order.payment.method is PaymentMethod.OTHER:
        return RefundMethod.OTHER
    if order.payment.method is PaymentMethod.FLOAT:
        return RefundMethod.FLOAT
    if order.payment.method is PaymentMethod.STORE_CREDIT:
        return RefundMethod.STORE_CREDIT
    return RefundMethod.ORIGINAL  # for points: back to the customer's points account


# ----------------------------------------------------------------- commands
def refund(
    order: OrderRoot,
    request: RefundRequest,
    *,
    method: RefundMethod | None,
    reason: str | None,
    created_by: str,
    now: datetime,
) -> Refund:
    """Give money back; ``method=None`` means the way the customer paid.

    Refunded gift-card link units cancel that many links that could still be
    cancelled, so a refunded link can never be opened or spent afterwards.

    On a stopped order whose cancellation (or automatic) refund failed, ``Order.refund``
    makes that refund again instead (``stop_retries``).
    """
    made = record_refund(
        order,
        request,
        kind=RefundKind.REFUND,
        method=refund_method(order, method),
        reason=reason,
        created_by=created_by,
        now=now,
    )
    restock.record_stock_moved(order, restock.restocked_by(made))
    order.events.append(OrderRefunded(order.id, made.id))
    gift_cards.cancel_refunded_links(order, made, reason or "Refunded", now)
    return made


def auto_refund(order: OrderRoot, *, reason: str | None, created_by: str, now: datetime) -> Refund:
    """Reverse a settled redeem order whose transaction record never arrived: give
    back every refundable unit, money and points, and end the order as
    ``auto_refunded`` (terminal, refund-class; seed 004)."""
    if order.payment.redemption is None:
        raise OrderNotAutoRefundable(f"order {order.id} paid no points; it is not a redeem order")
    if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
        raise OrderNotAutoRefundable(
            f"order {order.id} is {order.status}; only a paid or partially refunded redeem "
            "order is reversed automatically",
            order_status=order.status.value,
        )
    reason = reason or AUTO_REFUND_REASON
    request = RefundRequest.full()
    try:
        by_lines = calculate_refund(order, request, now).total
    except RefundExceedsRefundable:
        by_lines = Money.zero(order.currency)
    if by_lines < order.refundable:
        # Units that can no longer be refunded by line (an opened gift-card link) were
        # paid for too: the reversal gives back all the money, as an amount.
        request = RefundRequest(amount=order.refundable.minor)
    made = record_refund(
        order,
        request,
        kind=RefundKind.AUTO_REFUND,
        method=default_refund_method(order),
        reason=reason,
        created_by=created_by,
        now=now,
        derive_status=False,
    )
    restock.record_stock_moved(order, restock.restocked_by(made))
    gift_cards.cancel_refunded_links(order, made, reason, now)
    order.cancel_reason = reason
    order._move_to(OrderStatus.AUTO_REFUNDED, now)
    order.events.append(OrderAutoRefunded(order.id, made.id, reason, created_by))
    return made


def record_external_refund(
    order: OrderRoot, amount: Money, provider_reference: str, reason: str | None, now: datetime
) -> Refund:
    """A refund made in the provider's own dashboard: the money has already left, so it
    is recorded as completed whatever the cap says, and the ledger derives the status.
    It names no lines, so no stock moves."""
    for known in order.refunds:
        if known.provider_reference == provider_reference:
            return known  # the provider told us twice
    if amount.minor <= 0:
        raise InvalidInput("an external refund must have a positive amount")
    breakdown = RefundBreakdown(
        currency=order.currency,
        lines=(),
        shipping=Money.zero(order.currency),
        shipping_tax=Money.zero(order.currency),
        goodwill=amount,
        adjustment=Money.zero(order.currency),
        fees=Money.zero(order.currency),
    )
    made = Refund.record(
        order_id=order.id,
        kind=RefundKind.EXTERNAL,
        method=RefundMethod.ORIGINAL,
        breakdown=breakdown,
        reason=reason or "Refunded in the payment provider's dashboard",
        created_by="provider",
        now=now,
        provider_reference=provider_reference,
    )
    order.refunds.append(made)
    rebalance_points(order, made)
    order.events.append(OrderRefunded(order.id, made.id))
    if order.status in TERMINAL_STATUSES or order.payment.captured.minor == 0:
        order._touch(now)
    else:
        order._move_to(order.status_from_ledger(), now)
    return made


# ---------------------------------------------------------------- the ledger
def record_refund(
    order: OrderRoot,
    request: RefundRequest,
    *,
    kind: RefundKind,
    method: RefundMethod,
    reason: str | None,
    created_by: str,
    now: datetime,
    derive_status: bool | None = None,
) -> Refund:
    """Add the refund ``request`` asks for to the ledger; every kind of refund but a
    return's goes through here (a return's works out its own breakdown first). Moves no
    stock: the command that asked for it records that, once for the whole change."""
    stopping = kind is RefundKind.CANCELLATION
    return record_breakdown(
        order,
        calculate_refund(order, request, now, stopping=stopping),
        kind=kind,
        method=method,
        reason=reason,
        created_by=created_by,
        now=now,
        derive_status=derive_status,
    )


def record_breakdown(
    order: OrderRoot,
    breakdown: RefundBreakdown,
    *,
    kind: RefundKind,
    method: RefundMethod,
    reason: str | None,
    created_by: str,
    now: datetime,
    derive_status: bool | None = None,
) -> Refund:
    """Add a refund the calculator worked out to the ledger."""
    made = Refund.record(
        order_id=order.id,
        kind=kind,
        method=method,
        breakdown=breakdown,
        reason=reason,
        created_by=created_by,
        now=now,
    )
    made.points_value = points_value_share(order, made.amount)
    made.store_credit_value = store_credit_part(order, made.amount, method)
    order.refunds.append(made)
    rebalance_points(order, made)
    if made.money_amount.minor == 0 and made.is_pending:
        # No money to send: all of it goes back as points or store credit, in this very
        # transaction, or a return's fees kept all of it.
        if made.store_credit_value is not None and made.store_credit_value.minor > 0:
            detail = "given back as store credit"
        elif made.points_value is not None and made.points_value.minor > 0:
            detail = "given back in points"
        else:
            detail = "no money to send"
        made.complete(now, detail)
    credit_if_settled(order, made)
    if made.is_sent_to_provider and made.is_pending:
        order.events.append(RefundRequested(order.id, made.id))
    # A whole-order cancel sets its own terminal status; refunds and item
    # cancellations leave the status to the ledger, unless the order has ended
    # (a refund retried after a cancellation refund failed).
    derive = derive_status if derive_status is not None else kind is RefundKind.REFUND
    # An order still waiting for its money part (its store credit given back by an item
    # cancel) keeps waiting: the ledger's statuses are a paid order's.
    waiting = order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED)
    if derive and not waiting and order.status not in TERMINAL_STATUSES:
        order._move_to(order.status_from_ledger(), now)
    else:
        order._touch(now)
    return made
