"""Returns on an order: which shipped units can come back, and what a return gives back.

A return holds its units from the moment it is created (``OrderRoot.units_in_returns``),
so the order's lock is all it takes to keep units returned, refunded and cancelled within
units sold. Resellable units go back on the shelf when they arrive, not before. Refunding
a return runs the one refund calculator over the units that arrived, as shipped units
(none is taken for an unshipped one, none restocked again), then keeps the return's fees.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from refundry.domain.errors import InvalidInput
from refundry.domain.events import OrderRefunded, ReturnChanged
from refundry.domain.money import Currency, Money
from refundry.domain.order import restock
from refundry.domain.order.lines import LineKind, OrderLine, Shipping
from refundry.domain.order.refund_calculation import (
    LineRefundRequest,
    LineRefundTotals,
    RefundRequest,
    calculate_refund,
)
from refundry.domain.order.refunds import record_breakdown
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundBreakdown, RefundKind, RefundMethod, sum_money
from refundry.domain.returns import (
    OrderReturn,
    ReceivedUnits,
    ReturnFeeTooHigh,
    ReturnLine,
    ReturnNotFound,
    ReturnQuantityExceeded,
    ReturnStatus,
    ReturnStatusChange,
    restocking_fee,
)
from refundry.domain.status import OrderStatus

DEFAULT_RETURN_REFUND_REASON = "Returned goods"


@dataclass(frozen=True, slots=True)
class ReturnLineRequest:
    line_id: uuid.UUID
    quantity: int
    reason: str | None = None
    restocking_fee_bp: int | None = None  # overrides the return's fee for this line


# ------------------------------------------------------------------ queries
def return_by_id(order: OrderRoot, return_id: uuid.UUID) -> OrderReturn:
    for order_return in order.returns:
        if order_return.id == return_id:
            return order_return
    raise ReturnNotFound(f"order {order.id} has no return {return_id}")


def returnable_quantity(order: OrderRoot, line: OrderLine) -> int:
    """Shipped units of the line not refunded and not in an active return. Gift-card
    links and digital goods do not come back by post: cancel or refund them."""
    if line.kind is not LineKind.PHYSICAL:
        return 0
    refunded = order.line_refunds(line.id)
    shipped_refunded = refunded.quantity - refunded.unfulfilled_quantity
    return line.fulfilled_quantity - shipped_refunded - order.units_in_returns(line.id)


def return_value(order: OrderRoot, order_return: OrderReturn, now: datetime) -> RefundBreakdown:
    """What the return would give back for the units that arrived, fees kept; no writes."""
    order_return.check_refundable()
    request = RefundRequest(
        lines=tuple(
            LineRefundRequest(line.order_line_id, line.received)
            for line in order_return.lines
            if line.received
        )
    )
    breakdown = calculate_refund(_ReturnedUnits(order, order_return), request, now)
    # Fewer units than listed may have come: the fees keep at most what they are worth
    # (they were checked against every listed unit when the return was made).
    return _keep_fees(order_return, breakdown, at_most_the_value=True)


# ----------------------------------------------------------------- commands
def create_return(
    order: OrderRoot,
    lines: Sequence[ReturnLineRequest],
    *,
    requested: bool,
    restocking_fee_bp: int,
    return_shipping_fee: int,
    note: str | None,
    actor: str,
    now: datetime,
) -> OrderReturn:
    """A return of shipped units: ``requested`` waits for approval, otherwise it is open."""
    if not lines:
        raise InvalidInput("a return lists at least one line")
    if return_shipping_fee < 0:
        raise InvalidInput("the return-shipping fee cannot be negative")
    seen: set[uuid.UUID] = set()
    for wanted in lines:
        line = order.line(wanted.line_id)
        if wanted.line_id in seen:
            raise InvalidInput(f"line {line.id} is listed twice; list each line once")
        seen.add(wanted.line_id)
        if wanted.quantity <= 0:
            raise InvalidInput(f"line {line.id}: quantity must be positive", line_id=str(line.id))
        left = returnable_quantity(order, line)
        if wanted.quantity > left:
            raise ReturnQuantityExceeded(
                f"line {line.id} ({line.sku}) has {left} shipped unit(s) that can be returned "
                f"(not refunded, not in another return), not {wanted.quantity}",
                line_id=str(line.id),
                returnable_quantity=left,
                requested_quantity=wanted.quantity,
            )
    status = ReturnStatus.REQUESTED if requested else ReturnStatus.OPEN
    made = OrderReturn(
        id=uuid.uuid4(),
        order_id=order.id,
        status=status,
        lines=[
            ReturnLine(
                wanted.line_id, wanted.quantity, _text(wanted.reason), wanted.restocking_fee_bp
            )
            for wanted in lines
        ],
        restocking_fee_bp=restocking_fee_bp,
        return_shipping_fee=Money(return_shipping_fee, order.currency),
        note=_text(note),
        created_by=actor,
        created_at=now,
        updated_at=now,
        history=[ReturnStatusChange(status, now, actor, "requested" if requested else "opened")],
    )
    # The fees must leave something to give back, as if every unit arrives: checked now,
    # where the person setting them can still change them. Checked before the return is
    # added, so a refusal leaves the order as it was.
    every_unit = RefundRequest(
        lines=tuple(LineRefundRequest(line.order_line_id, line.quantity) for line in made.lines)
    )
    _keep_fees(made, calculate_refund(_ReturnedUnits(order, None), every_unit, now))
    order.returns.append(made)
    order.events.append(ReturnChanged(order.id, made.id, None, actor))
    order._touch(now)
    return made


def approve_return(order: OrderRoot, return_id: uuid.UUID, actor: str, now: datetime) -> None:
    order_return = return_by_id(order, return_id)
    previous = order_return.status
    order_return.approve(actor, now)
    record_return_changed(order, order_return, previous, actor, now)


def decline_return(
    order: OrderRoot, return_id: uuid.UUID, reason: str, actor: str, now: datetime
) -> None:
    order_return = return_by_id(order, return_id)
    previous = order_return.status
    order_return.decline(reason, actor, now)
    record_return_changed(order, order_return, previous, actor, now)


def cancel_return(
    order: OrderRoot, return_id: uuid.UUID, reason: str | None, actor: str, now: datetime
) -> None:
    order_return = return_by_id(order, return_id)
    previous = order_return.status
    order_return.cancel(_text(reason), actor, now)
    record_return_changed(order, order_return, previous, actor, now)


def receive_return(
    order: OrderRoot,
    return_id: uuid.UUID,
    units: Sequence[ReceivedUnits],
    actor: str,
    now: datetime,
) -> None:
    """Units arrived: resellable ones go back on the shelf now, damaged ones do not."""
    order_return = return_by_id(order, return_id)
    by_line: dict[uuid.UUID, ReceivedUnits] = {}
    for arrived in units:
        if arrived.order_line_id in by_line:
            raise InvalidInput(f"line {arrived.order_line_id} is listed twice; list each once")
        by_line[arrived.order_line_id] = arrived
    previous = order_return.status
    order_return.receive(by_line, actor, now)
    restock.record_stock_moved(
        order, [(arrived.order_line_id, arrived.resellable) for arrived in units]
    )
    record_return_changed(order, order_return, previous, actor, now)


def refund_return(
    order: OrderRoot,
    return_id: uuid.UUID,
    *,
    method: RefundMethod,
    reason: str | None,
    actor: str,
    now: datetime,
) -> Refund:
    """Give back what arrived, less the return's fees, and close the return."""
    order_return = return_by_id(order, return_id)
    breakdown = return_value(order, order_return, now)
    made = record_breakdown(
        order,
        breakdown,
        kind=RefundKind.REFUND,
        method=method,
        reason=_text(reason) or DEFAULT_RETURN_REFUND_REASON,
        created_by=actor,
        now=now,
    )
    order.events.append(OrderRefunded(order.id, made.id))
    previous = order_return.status
    order_return.close(actor=actor, now=now, refund_id=made.id)
    record_return_changed(order, order_return, previous, actor, now)
    return made


def reopen_refunded_return(order: OrderRoot, failed: Refund, now: datetime) -> None:
    """The provider refused a return's refund: the goods are back, the money is still
    owed, so the return is received again (and holds its units) until refunded anew."""
    for order_return in order.returns:
        if order_return.refund_id == failed.id:
            previous = order_return.status
            order_return.reopen(f"the refund failed: {failed.failure_reason}", now)
            record_return_changed(order, order_return, previous, "system", now)


# ------------------------------------------------------------------ helpers
def record_return_changed(
    order: OrderRoot, order_return: OrderReturn, previous: ReturnStatus, actor: str, now: datetime
) -> None:
    order.events.append(ReturnChanged(order.id, order_return.id, previous, actor))
    order._touch(now)


def _keep_fees(
    order_return: OrderReturn, breakdown: RefundBreakdown, *, at_most_the_value: bool = False
) -> RefundBreakdown:
    currency = breakdown.currency
    restocking = sum_money(
        (
            restocking_fee(
                line.amount, order_return.fee_bp(order_return.line_for(line.order_line_id))
            )
            for line in breakdown.lines
        ),
        currency,
    )
    fees = restocking + order_return.return_shipping_fee
    if fees > breakdown.total and at_most_the_value:
        fees = breakdown.total
    if fees > breakdown.total:
        raise ReturnFeeTooHigh(
            f"the fees ({fees.minor}) exceed the {breakdown.total.minor} {currency.code} minor "
            "units the returned units are worth",
            fees=fees.minor,
            value=breakdown.total.minor,
        )
    return replace(breakdown, fees=fees)


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


class _ReturnedUnits:
    """The order as a return's refund sees it: the return's own units are released (they
    are what it refunds), and every unit counts as shipped, so none is taken for an
    unshipped one or put back on the shelf a second time. Satisfies ``RefundableOrder``."""

    def __init__(self, order: OrderRoot, order_return: OrderReturn | None) -> None:
        self._order = order
        self._return = order_return

    @property
    def status(self) -> OrderStatus:
        return self._order.status

    @property
    def currency(self) -> Currency:
        return self._order.currency

    @property
    def lines(self) -> Sequence[OrderLine]:
        return self._order.lines

    @property
    def shipping(self) -> Shipping:
        return self._order.shipping

    @property
    def refundable(self) -> Money:
        return self._order.refundable

    def line(self, line_id: uuid.UUID) -> OrderLine:
        return self._order.line(line_id)

    def line_refunds(self, line_id: uuid.UUID) -> LineRefundTotals:
        return self._order.line_refunds(line_id)

    def shipping_refunded(self) -> tuple[Money, Money]:
        return self._order.shipping_refunded()

    def open_quantity(self, line: OrderLine) -> int:
        return 0

    def refundable_quantity(self, line: OrderLine, as_of: datetime) -> int:
        released = 0 if self._return is None else self._return.units_held(line.id)
        return self._order.refundable_quantity(line, as_of) + released
