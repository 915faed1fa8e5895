"""The refund calculator: one function behind both "review refund" and the refund itself.

Exactness rule: a line's discount and tax (and shipping's tax) are owed back by
``cumulative_share``: after a refund the line has given back exactly the share owed
to all of its refunded units, computed from the whole line, minus what earlier
refunds already gave. Stacked partial refunds therefore add up to the line total to
the last minor unit, whatever their order or size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from refundry.domain.errors import (
    EmptyRefund,
    InvalidInput,
    OrderNotRefundable,
    RefundExceedsRefundable,
    RefundQuantityExceeded,
)
from refundry.domain.money import Currency, Money, cumulative_share
from refundry.domain.order.lines import OrderLine, Shipping
from refundry.domain.refund import Refund, RefundBreakdown, RefundLine, sum_money
from refundry.domain.status import TERMINAL_STATUSES, OrderStatus


@dataclass(frozen=True, slots=True)
class LineRefundRequest:
    line_id: uuid.UUID
    quantity: int
    restock: bool = False


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """What to give back. With no lines, shipping or amount it means "everything left"."""

    lines: tuple[LineRefundRequest, ...] = ()
    shipping: int | None = None  # tax-exclusive shipping to refund; its tax follows
    amount: int | None = None  # goodwill on top of lines and shipping
    restock_all: bool = False  # for a full refund: put fulfilled units back on the shelf too
    everything: bool = False

    @classmethod
    def full(cls, *, restock: bool = False) -> RefundRequest:
        return cls(everything=True, restock_all=restock)


@dataclass(frozen=True, slots=True)
class LineRefundTotals:
    quantity: int
    unfulfilled_quantity: int
    discount: Money
    tax: Money


def line_refund_totals(
    refunds: Iterable[Refund], line_id: uuid.UUID, currency: Currency
) -> LineRefundTotals:
    lines = [
        line
        for refund in refunds
        if refund.counts_against_cap
        for line in refund.breakdown.lines
        if line.order_line_id == line_id
    ]
    return LineRefundTotals(
        quantity=sum(line.quantity for line in lines),
        unfulfilled_quantity=sum(line.unfulfilled_quantity for line in lines),
        discount=sum_money((line.discount for line in lines), currency),
        tax=sum_money((line.tax for line in lines), currency),
    )


def shipping_refund_totals(refunds: Iterable[Refund], currency: Currency) -> tuple[Money, Money]:
    """Shipping and shipping tax already given back by refunds that count."""
    counting = [refund for refund in refunds if refund.counts_against_cap]
    return (
        sum_money((refund.breakdown.shipping for refund in counting), currency),
        sum_money((refund.breakdown.shipping_tax for refund in counting), currency),
    )


class RefundableOrder(Protocol):
    """The read-only view of an order the calculator works from. ``Order`` satisfies it;
    naming only what is read keeps this module below the aggregate (no import cycle) and
    shows that working out a refund changes nothing."""

    @property
    def status(self) -> OrderStatus: ...
    @property
    def currency(self) -> Currency: ...
    @property
    def lines(self) -> Sequence[OrderLine]: ...
    @property
    def shipping(self) -> Shipping: ...
    @property
    def refundable(self) -> Money: ...
    def line(self, line_id: uuid.UUID) -> OrderLine: ...
    def line_refunds(self, line_id: uuid.UUID) -> LineRefundTotals: ...
    def shipping_refunded(self) -> tuple[Money, Money]: ...
    def open_quantity(self, line: OrderLine) -> int: ...
    def refundable_quantity(self, line: OrderLine, as_of: datetime) -> int: ...


def calculate_refund(
    order: RefundableOrder, request: RefundRequest, as_of: datetime, *, stopping: bool = False
) -> RefundBreakdown:
    """The refund ``request`` asks for, as of ``as_of`` (which gift-card links are live).
    ``stopping``: a cancellation's, which may give back what a pending order's checkout
    settled (its store credit) though the money part was never paid."""
    _check_refundable_status(order, stopping)
    currency = order.currency
    refundable = order.refundable
    if refundable.minor == 0:
        raise RefundExceedsRefundable(
            "nothing is left to refund on this order", requested=None, refundable=0
        )
    shipping_refunded, shipping_tax_refunded = order.shipping_refunded()
    shipping_left = order.shipping.amount - shipping_refunded

    if request.everything and order.status in TERMINAL_STATUSES:
        # A cancelled (or auto-refunded) order whose refund failed owes its money back whole;
        # its goods are stopped, so there is nothing to break the money down by.
        return RefundBreakdown(
            currency=currency,
            lines=(),
            shipping=Money.zero(currency),
            shipping_tax=Money.zero(currency),
            goodwill=refundable,
            adjustment=Money.zero(currency),
            fees=Money.zero(currency),
        )
    if request.everything:
        line_requests = tuple(
            LineRefundRequest(line.id, left, restock=request.restock_all)
            for line in order.lines
            if (left := order.refundable_quantity(line, as_of)) > 0
        )
        shipping = shipping_left
        goodwill = Money.zero(currency)
    else:
        if not request.lines and not request.shipping and not request.amount:
            raise EmptyRefund("name lines, shipping or an amount; send none of them to refund all")
        line_requests = request.lines
        shipping = Money(request.shipping or 0, currency)
        goodwill = Money(request.amount or 0, currency)
        if shipping.minor < 0 or goodwill.minor < 0:
            raise InvalidInput("refund shipping and amount must not be negative")
        if shipping > shipping_left:
            raise RefundExceedsRefundable(
                f"shipping left to refund is {shipping_left.minor}, not {shipping.minor}",
                requested=shipping.minor,
                refundable=shipping_left.minor,
                part="shipping",
            )

    _check_distinct_lines(line_requests)
    refund_lines = tuple(_refund_line(order, line_request, as_of) for line_request in line_requests)
    shipping_tax = (
        Money(
            cumulative_share(
                order.shipping.tax.minor,
                (shipping_refunded + shipping).minor,
                order.shipping.amount.minor,
            ),
            currency,
        )
        - shipping_tax_refunded
    )
    breakdown = RefundBreakdown(
        currency=currency,
        lines=refund_lines,
        shipping=shipping,
        shipping_tax=shipping_tax,
        goodwill=goodwill,
        adjustment=Money.zero(currency),
        fees=Money.zero(currency),
    )
    if request.everything and breakdown.total > refundable:
        # Earlier goodwill or a partial capture left less money than goods: give back
        # the money that is left and record the difference, so the parts still add up.
        breakdown = RefundBreakdown(
            currency=currency,
            lines=refund_lines,
            shipping=shipping,
            shipping_tax=shipping_tax,
            goodwill=goodwill,
            adjustment=refundable - breakdown.total,
            fees=Money.zero(currency),
        )
    if breakdown.total.minor <= 0:
        raise RefundExceedsRefundable(
            "nothing is left to refund by lines or shipping (gift-card links already opened "
            "or spent stay with their consumers); refund an amount instead",
            requested=breakdown.total.minor,
            refundable=refundable.minor,
            part="lines",
        )
    if breakdown.total > refundable:
        raise RefundExceedsRefundable(
            f"refund of {breakdown.total.minor} exceeds the {refundable.minor} "
            f"{currency.code} minor units left to refund",
            requested=breakdown.total.minor,
            refundable=refundable.minor,
        )
    return breakdown


def _check_refundable_status(order: RefundableOrder, stopping: bool) -> None:
    if order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
        return
    waiting = order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED)
    if stopping and waiting and order.refundable.minor > 0:
        return  # store credit spent at checkout, given back by the cancel
    if order.status in TERMINAL_STATUSES and order.refundable.minor > 0:
        # The cancellation (or automatic) refund failed at the provider: the money is
        # still owed.
        return
    if order.status is OrderStatus.AUTO_REFUNDED:
        raise OrderNotRefundable(
            "the order was reversed automatically by reconciliation (auto_refunded, a "
            "terminal state): its money and points are already given back",
            order_status=order.status.value,
        )
    if order.status is OrderStatus.FULLY_REFUNDED:
        raise RefundExceedsRefundable(
            "the order is fully refunded; nothing is left to refund", requested=None, refundable=0
        )
    if order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED):
        raise OrderNotRefundable(
            f"order is {order.status}: no money was captured, so there is nothing to refund; "
            "cancel the order to release the authorization"
        )
    raise OrderNotRefundable(f"order is {order.status} and cannot be refunded")


def _check_distinct_lines(line_requests: Iterable[LineRefundRequest]) -> None:
    seen: set[uuid.UUID] = set()
    for line_request in line_requests:
        if line_request.line_id in seen:
            raise InvalidInput(
                f"line {line_request.line_id} is listed twice; list each line once",
                line_id=str(line_request.line_id),
            )
        seen.add(line_request.line_id)


def _refund_line(
    order: RefundableOrder, line_request: LineRefundRequest, as_of: datetime
) -> RefundLine:
    line = order.line(line_request.line_id)
    quantity = line_request.quantity
    left = order.refundable_quantity(line, as_of)
    if quantity <= 0:
        raise InvalidInput(f"line {line.id}: quantity must be positive", line_id=str(line.id))
    if quantity > left:
        raise RefundQuantityExceeded(
            f"line {line.id} ({line.sku}) has {left} unit(s) left to refund, not {quantity}",
            line_id=str(line.id),
            refundable_quantity=left,
            requested_quantity=quantity,
        )
    already = order.line_refunds(line.id)
    refunded_after = already.quantity + quantity
    # Units that have not shipped are taken first: they will never ship now.
    unfulfilled = min(quantity, order.open_quantity(line))
    restocked = quantity if line_request.restock else unfulfilled
    return RefundLine(
        order_line_id=line.id,
        quantity=quantity,
        unfulfilled_quantity=unfulfilled,
        restocked_quantity=restocked if line.is_stocked else 0,
        subtotal=line.unit_price * quantity,
        discount=line.share(line.discount, refunded_after) - already.discount,
        tax=line.share(line.tax, refunded_after) - already.tax,
    )
