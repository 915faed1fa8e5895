"""Where an order's refund goes, in the words the agent reads (issue 21): the way this order
was paid by name ("the card the customer paid with", "the customer's Klarna account"),
store credit when the order has a customer to credit (issue 19: any refund may choose
``store_credit``), and seed 002's "different means", recorded only, which the refund's
status then reads as "Not requested by administrator".

The refund form offers these choices, and the review, the order's refunds and Account
History name a refund's destination with the same words."""

from __future__ import annotations

from dataclasses import dataclass

from refundry.domain.order import Order, PaymentMethod
from refundry.domain.refund import RefundMethod

# A refund to the original payment method, by the way the order was paid.
_ORIGINAL = {
    PaymentMethod.CARD: "the card the customer paid with",
    PaymentMethod.KLARNA: "the customer's Klarna account",
    PaymentMethod.POINTS: "the customer's points balance, as points",
}
_TO = {
    RefundMethod.FLOAT: "your float, at the end of the invoice cycle",
    RefundMethod.STORE_CREDIT: "the customer's store credit",
    RefundMethod.OTHER: "different means (recorded only)",
}
# As choices, the two that are not the card say what follows: store credit is there to
# spend, and a refund by different means reads "Not requested by administrator" (seed 002).
STORE_CREDIT_CHOICE = "store credit, for the customer to spend at a next checkout"
DIFFERENT_MEANS_CHOICE = "different means (recorded only: Not requested by administrator)"


@dataclass(frozen=True, slots=True)
class Destination:
    """A "Refund to" choice: the method the form sends, and its words."""

    method: RefundMethod
    label: str


def refund_to(order: Order, method: RefundMethod) -> str:
    """Where a refund by ``method`` (as chosen, or as recorded) sends the money."""
    if method is RefundMethod.ORIGINAL:
        resolved = order.refund_method(method)  # a float, store credit or other-paid order's
        if resolved is not RefundMethod.ORIGINAL:
            return _TO[resolved]
        return _ORIGINAL.get(order.payment.method, "the original payment method")
    return _TO.get(method, "the original payment method")


def refund_choices(order: Order) -> tuple[Destination, ...]:
    """The order refund's "Refund to" choices, the way the customer paid first. Store
    credit is offered when there is a customer to credit and it is not already the way
    they paid; a float-paid order's money is the merchant's, never store credit (the
    domain refuses it). Different means is offered unless the order was paid that way."""
    original = order.refund_method(RefundMethod.ORIGINAL)
    paid_by_other_means = original is RefundMethod.OTHER
    choices = [
        Destination(
            RefundMethod.ORIGINAL,
            DIFFERENT_MEANS_CHOICE
            if paid_by_other_means
            else refund_to(order, RefundMethod.ORIGINAL),
        )
    ]
    customer = order.customer.external_id or order.customer.email.strip()
    if customer and original not in (RefundMethod.FLOAT, RefundMethod.STORE_CREDIT):
        choices.append(Destination(RefundMethod.STORE_CREDIT, STORE_CREDIT_CHOICE))
    if not paid_by_other_means:
        choices.append(Destination(RefundMethod.OTHER, DIFFERENT_MEANS_CHOICE))
    return tuple(choices)


def chosen(order: Order, method: RefundMethod) -> RefundMethod:
    """The choice to show checked: ``method`` when it is one, else the way the customer paid."""
    offered = [choice.method for choice in refund_choices(order)]
    return method if method in offered else RefundMethod.ORIGINAL
