"""The order's store credit: what its refunds give back as store credit. (What its checkout
spent is ``payment.store_credit``, taken off the customer's account at placement.)

A refund's store credit part (``Refund.store_credit_value``) is all of it, less any
points part, when it goes to store credit (method ``store_credit``). On an order paid
partly with store credit, every other refund gives the store credit back first: its part
up to the store credit not given back yet goes back as store credit, and only the rest
is money. The customer is credited when the refund completes (at once when no money has
to move, else when the provider settles it), never before: a failed refund credits
nothing, so no credit ever has to be taken back and the balance never goes negative.
"""

from __future__ import annotations

from refundry.domain.events import StoreCreditIssued
from refundry.domain.money import Money
from refundry.domain.order.points import points_value_share
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundMethod


def store_credit_share(order: OrderRoot, amount: Money, method: RefundMethod) -> Money | None:
    """The part of a new refund of ``amount`` given back as store credit (before the
    points part is taken off, for method ``store_credit``)."""
    if method is RefundMethod.STORE_CREDIT:
        return amount
    left = order.store_credit_returnable
    if left.minor == 0:
        return None
    return Money(min(amount.minor, left.minor), order.currency)


def store_credit_part(order: OrderRoot, amount: Money, method: RefundMethod) -> Money | None:
    """What a new refund of ``amount`` by ``method`` gives back as store credit (``None``:
    none of it); the preview shows it, the refund records it."""
    share = store_credit_share(order, amount, method)
    if share is not None and method is RefundMethod.STORE_CREDIT:
        points = points_value_share(order, amount)
        return share if points is None else share - points
    return share


def credit_if_settled(order: OrderRoot, refund: Refund) -> None:
    """A refund given back for good credits its store credit part to the customer."""
    value = refund.store_credit_value
    if refund.is_settled and value is not None and value.minor > 0:
        order.events.append(StoreCreditIssued(order.id, refund.id, value.minor))
