"""Stopping an order before it ships: the whole order, or one item of it, and what blocks
either.

A cancel is irreversible. Its units go back on the shelf; an uncaptured hold is marked for
voiding; captured money comes back as a cancellation refund (so the sales report sees it).
An item is a gift-card link, or every open unit of one line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.errors import (
    ItemNotCancellable,
    ItemNotFound,
    OrderAlreadyCancelled,
    OrderAlreadyRefunded,
    OrderFulfilled,
    OrderNotCancellable,
)
from refundry.domain.events import CancelledUnits, OrderCancelled
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.order import restock
from refundry.domain.order.authorization import request_void
from refundry.domain.order.lines import LineKind, OrderLine
from refundry.domain.order.refund_calculation import LineRefundRequest, RefundRequest
from refundry.domain.order.refunds import default_refund_method, record_refund
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundKind
from refundry.domain.status import OrderStatus

DEFAULT_CANCEL_REASON = "Order cancelled via API"
DEFAULT_CANCEL_LABEL = "cancelled"
DEFAULT_ITEM_CANCEL_REASON = "Order item cancelled via API"


@dataclass(frozen=True, slots=True)
class Cancellation:
    refund: Refund | None  # set when captured money had to be given back
    authorization_to_void: bool


# ----------------------------------------------------------------- blockers
def cancel_blocker(order: OrderRoot, now: datetime) -> OrderNotCancellable | None:
    """Why the whole order cannot be cancelled now, or ``None`` if it can."""
    try:
        _check_cancellable(order, now)
    except OrderNotCancellable as blocker:
        return blocker
    return None


def item_cancel_blocker(
    order: OrderRoot, line: OrderLine, now: datetime
) -> ItemNotCancellable | None:
    """Why this line cannot be cancelled as one item now, or ``None`` if it can. Each
    names its ``condition`` (what the API's ``cancel_blocked_code`` shows): the order's
    state, ``waiting_for_payment``, ``fulfilled``, a link's state, or ``no-open-units``."""
    ended = _ended(order)
    if ended is not None:
        return ended
    if order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED) and order.payment.captured:
        # Store credit paid part of it and the rest is not paid yet: what is still owed would
        # have to be worked out again for the items left. Cancel the order, or one item once
        # it is paid.
        return ItemNotCancellable(
            f"order {order.id} waits for the rest of its payment (store credit paid part of "
            "it): cancel the whole order, or cancel the item once the order is paid",
            condition="waiting_for_payment",
        )
    if line.kind is LineKind.GIFT_CARD_LINK:
        live = order.live_links(line.id)
        if not live:
            return ItemNotCancellable(
                f"every link of line {line.id} is already cancelled",
                condition="link-cancelled",
                line_id=str(line.id),
            )
        for link in live:
            blocker = link.cancellation_blocker(now)
            if blocker is not None:
                return ItemNotCancellable(
                    blocker.detail, condition=blocker.code, **blocker.extensions
                )
        return None
    if line.fulfilled_quantity:
        return ItemNotCancellable(
            f"line {line.id} has fulfilled units; create a return for them instead",
            condition="fulfilled",
            line_id=str(line.id),
        )
    if order.open_quantity(line) == 0:
        return ItemNotCancellable(
            f"line {line.id} has no open unit left to cancel (each is cancelled or refunded)",
            condition="no-open-units",
            line_id=str(line.id),
        )
    return None


def _ended(order: OrderRoot) -> ItemNotCancellable | None:
    """An order that ended has no item left to cancel."""
    if order.status is OrderStatus.CANCELLED:
        return ItemNotCancellable(
            f"order {order.id} is cancelled", condition="order-already-cancelled"
        )
    if order.status is OrderStatus.AUTO_REFUNDED:
        return ItemNotCancellable(
            f"order {order.id} was reversed automatically by reconciliation (auto_refunded); "
            "nothing is left to cancel",
            condition="order-already-refunded",
        )
    return None


# ----------------------------------------------------------------- commands
def cancel(
    order: OrderRoot,
    *,
    reason: str | None,
    status_label: str | None,
    created_by: str,
    now: datetime,
) -> Cancellation:
    """Stop the order for good: restock every open unit and undo the payment.

    An authorization is marked for voiding (money never left the customer). Captured
    money gets a cancellation refund for everything still refundable, so the sales
    report sees the cancel.
    """
    _check_cancellable(order, now)
    reason = _given(reason) or DEFAULT_CANCEL_REASON
    stopped = tuple(
        CancelledUnits(line.id, units)
        for line in order.lines
        if (units := order.open_quantity(line)) > 0
    )
    refund: Refund | None = None
    back_on_shelf: list[restock.LineUnits] = []
    if order.payment.captured.minor > 0:
        refund = record_refund(
            order,
            RefundRequest.full(restock=True),
            kind=RefundKind.CANCELLATION,
            method=default_refund_method(order),
            reason=reason,
            created_by=created_by,
            now=now,
        )
        back_on_shelf += restock.restocked_by(refund)
    # The links die after the refund is worked out: it counts them as live units.
    for link in order.links:
        if link.cancelled_at is None:
            link.cancel(reason, now, by=created_by)
    # Units the cancellation refund did not cover (nothing captured, or lines
    # whose units were already refunded) are stopped without money moving.
    uncovered = {line.id: units for line in order.lines if (units := order.open_quantity(line)) > 0}
    for line_id, units in uncovered.items():
        order.line(line_id).cancelled_quantity += units
    back_on_shelf += restock.stopped(uncovered)
    restock.record_stock_moved(order, back_on_shelf)
    authorization_to_void = request_void(order)
    order.cancel_reason = reason
    order.status_label = _given(status_label) or DEFAULT_CANCEL_LABEL
    order.cancelled_at = now
    order.cancelled_by = created_by
    order._move_to(OrderStatus.CANCELLED, now)
    order.events.append(
        OrderCancelled(
            order.id,
            None,
            stopped,
            None if refund is None else refund.id,
            reason,
            created_by,
            authorization_voided=authorization_to_void,
        )
    )
    return Cancellation(refund, authorization_to_void)


def cancel_item(
    order: OrderRoot, item_id: uuid.UUID, *, reason: str | None, created_by: str, now: datetime
) -> Refund | None:
    """Cancel one item: a gift-card link, or every open unit of one line. Irreversible.

    Captured money comes back as a cancellation refund of those units (to the float,
    credited when the invoice cycle closes, for float-paid orders); on an order not
    yet captured the units are simply stopped.
    """
    ended = _ended(order)
    if ended is not None:
        raise ended
    line, links = _item(order, item_id)
    waiting = item_cancel_blocker(order, line, now)
    if waiting is not None and waiting.extensions.get("condition") == "waiting_for_payment":
        raise waiting
    if len(links) == 1 and links[0].id == item_id:
        link_blocker = links[0].cancellation_blocker(now)
        if link_blocker is not None:
            raise link_blocker  # names the failed condition: accessed, expired, spent
    else:
        line_blocker = item_cancel_blocker(order, line, now)
        if line_blocker is not None:
            raise line_blocker
    units = len(links) if line.kind is LineKind.GIFT_CARD_LINK else order.open_quantity(line)
    reason = _given(reason) or DEFAULT_ITEM_CANCEL_REASON
    # The last item of an unshipped order stops the order itself: cancelled, as a
    # whole-order cancel would leave it, not "fully refunded" (seed 000's item cancel).
    last_item = (
        order.open_quantity(line) == units
        and not any(each.fulfilled_quantity for each in order.lines)
        and all(order.open_quantity(other) == 0 for other in order.lines if other is not line)
    )
    refund: Refund | None = None
    if order.payment.captured.minor == 0:
        line.cancelled_quantity += units
        order._touch(now)
        restock.record_stock_moved(order, restock.stopped({line.id: units}))
    else:
        # Worked out while the links still count as live units, then they die.
        # The last item takes what is left of the shipping with it: nothing will ship.
        request = (
            RefundRequest.full(restock=True)
            if last_item
            else RefundRequest(lines=(LineRefundRequest(line.id, units),))
        )
        refund = record_refund(
            order,
            request,
            kind=RefundKind.CANCELLATION,
            method=default_refund_method(order),
            reason=reason,
            created_by=created_by,
            now=now,
            derive_status=not last_item,
        )
        restock.record_stock_moved(order, restock.restocked_by(refund))
    for link in links:
        link.cancel(reason, now, by=created_by)
    authorization_to_void = last_item and request_void(order)
    if last_item:
        order.cancel_reason = reason
        order.status_label = DEFAULT_CANCEL_LABEL
        order.cancelled_at = now
        order.cancelled_by = created_by
        order._move_to(OrderStatus.CANCELLED, now)
    order.events.append(
        OrderCancelled(
            order.id,
            None if last_item else item_id,  # the order ended: integrators hear "order"
            (CancelledUnits(line.id, units),),
            None if refund is None else refund.id,
            reason,
            created_by,
            authorization_voided=authorization_to_void,
        )
    )
    return refund


# ---------------------------------------------------------------- internals
def _given(text: str | None) -> str | None:
    """Text as given, trimmed; ``None`` when it is blank, so the default applies."""
    return (text or "").strip() or None


def _item(order: OrderRoot, item_id: uuid.UUID) -> tuple[OrderLine, list[GiftCardLink]]:
    """The line an item id names and the live links it covers (a link, or a line's)."""
    for link in order.links:
        if link.id == item_id:
            return order.line(link.order_line_id), [link]
    for line in order.lines:
        if line.id == item_id:
            return line, order.live_links(line.id)
    raise ItemNotFound(f"order {order.id} has no line or link {item_id}", item_id=str(item_id))


def _check_cancellable(order: OrderRoot, now: datetime) -> None:
    if order.status is OrderStatus.CANCELLED:
        raise OrderAlreadyCancelled(f"order {order.id} is already cancelled")
    if order.status is OrderStatus.AUTO_REFUNDED:
        raise OrderAlreadyRefunded(
            f"order {order.id} was reversed automatically by reconciliation "
            "(auto_refunded, a terminal state); there is nothing left to cancel",
            order_status=order.status.value,
        )
    if order.status is OrderStatus.FULLY_REFUNDED:
        raise OrderAlreadyRefunded(
            f"order {order.id} is already fully refunded; there is nothing left to cancel",
            order_status=order.status.value,
        )
    fulfilled = sum(line.fulfilled_quantity for line in order.lines)
    if fulfilled:
        raise OrderFulfilled(
            f"{fulfilled} unit(s) of order {order.id} are fulfilled, so it can no longer be "
            "cancelled; refund the fulfilled units with restock: true (a return) instead",
            fulfilled_quantity=fulfilled,
        )
    for link in order.links:
        blocker = None if link.cancelled_at else link.cancellation_blocker(now)
        if blocker is not None:
            raise OrderNotCancellable(
                f"a gift-card link can no longer be cancelled: {blocker.detail}",
                condition=blocker.code,
                **blocker.extensions,
            )
