"""Exchanging a return: the goods that came back pay for a replacement order.

The return's value (what its refund would give back, fees kept) is carried to the
replacement as store credit: the return's refund goes to store credit and the replacement's
checkout spends it in the same change, so the customer's balance ends where it was and the
ledger shows both moves. When the return is worth more than the replacement, only the
replacement's total is carried and the difference goes back the way the customer paid, as a
refund of its own; when it is worth less, the replacement's checkout takes the difference
(the use case places it so).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from refundry.domain.errors import InvalidInput
from refundry.domain.events import OrderRefunded
from refundry.domain.money import Money
from refundry.domain.order.payment import PaymentMethod
from refundry.domain.order.refund_calculation import RefundRequest
from refundry.domain.order.refunds import default_refund_method, record_breakdown, record_refund
from refundry.domain.order.returns import record_return_changed, return_by_id, return_value
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundKind, RefundMethod
from refundry.domain.returns import ExchangeNotAllowed

EXCHANGE_DIFFERENCE_REASON = "Exchange: the return was worth more than its replacement"


def exchange_value(order: OrderRoot, return_id: uuid.UUID, now: datetime) -> Money:
    """What the return can carry to a replacement: its refund's value, fees kept."""
    check_exchangeable(order)
    return return_value(order, return_by_id(order, return_id), now).total


def carried_value(value: Money, replacement: Money) -> Money:
    """What the return carries to its replacement: all of its value, or the replacement's
    price when that is less (the rest is refunded)."""
    return min(value, replacement)


def check_exchangeable(order: OrderRoot) -> None:
    if order.payment.method is PaymentMethod.FLOAT:
        raise ExchangeNotAllowed(
            "a return of an order paid from the merchant's float cannot be exchanged (its "
            "value is the merchant's, not a customer's store credit): refund it to the float"
        )
    if order.payment.redemption is not None:
        raise ExchangeNotAllowed(
            "a return of an order paid with points cannot be exchanged: refund it (the "
            "points go back) and place the replacement as a new order"
        )


def exchange_return(
    order: OrderRoot,
    return_id: uuid.UUID,
    *,
    carried: Money,
    replacement_id: uuid.UUID,
    actor: str,
    now: datetime,
) -> tuple[Refund, Refund | None]:
    """Close the return as exchanged for ``replacement_id``: ``carried`` of its value goes
    to store credit (for the replacement's checkout to spend), the rest back as money."""
    check_exchangeable(order)
    order_return = return_by_id(order, return_id)
    breakdown = return_value(order, order_return, now)
    if not 0 < carried.minor <= breakdown.total.minor:
        raise InvalidInput(
            f"an exchange carries between 1 and {breakdown.total.minor} minor units of the "
            "return's value",
            value=breakdown.total.minor,
        )
    difference = breakdown.total - carried
    # The refund carried over keeps the return's units, tax and fees; the part that goes
    # back as money is trimmed off it (an adjustment) and refunded as an amount.
    exchanged = record_breakdown(
        order,
        replace(breakdown, adjustment=breakdown.adjustment - difference),
        kind=RefundKind.REFUND,
        method=RefundMethod.STORE_CREDIT,
        reason=f"Exchanged for order {replacement_id}",
        created_by=actor,
        now=now,
    )
    order.events.append(OrderRefunded(order.id, exchanged.id))
    rest = None
    if difference.minor:
        rest = record_refund(
            order,
            RefundRequest(amount=difference.minor),
            kind=RefundKind.REFUND,
            method=default_refund_method(order),
            reason=EXCHANGE_DIFFERENCE_REASON,
            created_by=actor,
            now=now,
        )
        order.events.append(OrderRefunded(order.id, rest.id))
    previous = order_return.status
    order_return.close(
        actor=actor, now=now, refund_id=exchanged.id, exchange_order_id=replacement_id
    )
    record_return_changed(order, order_return, previous, actor, now)
    return exchanged, rest
