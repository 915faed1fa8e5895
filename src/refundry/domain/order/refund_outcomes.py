"""What the provider answers about a refund it was sent: accepted (processing),
completed, or failed. A failed refund stops counting against the cap, so its money,
points and units are refundable again (a return it closed is received again, to be
refunded once more: its units are back on the shelf already).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.events import RefundStatusChanged
from refundry.domain.order import restock
from refundry.domain.order.points import rebalance_points
from refundry.domain.order.refunds import refund_by_id
from refundry.domain.order.returns import reopen_refunded_return
from refundry.domain.order.root import OrderRoot
from refundry.domain.order.store_credit import credit_if_settled
from refundry.domain.refund import Refund, RefundStatus
from refundry.domain.status import TERMINAL_STATUSES


def refund_processing(
    order: OrderRoot, refund_id: uuid.UUID, provider_reference: str | None, now: datetime
) -> Refund:
    """The provider accepted the refund and will settle it later."""
    accepted = refund_by_id(order, refund_id)
    known_reference = accepted.provider_reference
    previous = accepted.status
    moved = accepted.mark_processing(now, provider_reference)
    if moved:
        _refund_moved(order, accepted, previous)
    if moved or accepted.provider_reference != known_reference:
        order._touch(now)
    return accepted


def complete_refund(
    order: OrderRoot,
    refund_id: uuid.UUID,
    now: datetime,
    detail: str | None = None,
    *,
    provider_reference: str | None = None,
) -> Refund:
    completed = refund_by_id(order, refund_id)
    if provider_reference is not None:
        completed.provider_reference = provider_reference
    previous = completed.status
    completed.complete(now, detail)
    _refund_moved(order, completed, previous)
    credit_if_settled(order, completed)  # the store credit part, now it is given back
    order._touch(now)
    return completed


def fail_refund(order: OrderRoot, refund_id: uuid.UUID, reason: str, now: datetime) -> Refund:
    """The provider refused the refund: its money and units are refundable again.

    A failed refund undoes its restock too (a ``StockMoved`` taking the units back off
    the shelf), so a second attempt with ``restock`` does not count the units twice.
    """
    failed = refund_by_id(order, refund_id)
    previous = failed.status
    failed.fail(now, reason)
    rebalance_points(order, failed)  # the money stayed, so do the points
    _refund_moved(order, failed, previous)
    undone = restock.undone_by_failure(order, failed)
    if order.status in TERMINAL_STATUSES:
        # The order stays stopped: its units stay cancelled and on the shelf, and
        # only the money is owed again (a full refund now gives it back whole).
        for refund_line in failed.breakdown.lines:
            line = order.line(refund_line.order_line_id)
            line.cancelled_quantity += refund_line.unfulfilled_quantity
        order._touch(now)
    else:
        order._move_to(order.status_from_ledger(), now)
    restock.record_stock_moved(order, undone)
    reopen_refunded_return(order, failed, now)
    return failed


def _refund_moved(order: OrderRoot, moved: Refund, previous: RefundStatus) -> None:
    order.events.append(RefundStatusChanged(order.id, moved.id, previous, moved.status))
