"""A stopped order's refund that the provider refused, made again as what it is.

When a cancellation's (or an automatic) refund fails, the order stays stopped: its units
stay cancelled and on the shelf, and the money is owed. A refund of the stopped order is
then that refund again, never a goodwill amount: the same units with their exact discount
and tax shares and the same shipping, of the same kind, restocking nothing twice, so the
sales, tax and items reports count a cancellation. (A goodwill retry made the summary show
net sales for a sale worth nothing and the items report count the units as sold.)

Owed are the stop refunds that failed while the order was stopped (one that failed before
the cancel was covered by it) and were not made again since, earliest first, one per
retry. When less money is left than one owes (a refund made in the provider's dashboard
meanwhile), its units go back with what is left, the rest trimmed as an adjustment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from refundry.domain.errors import OrderNotRefundable
from refundry.domain.events import OrderRefunded
from refundry.domain.order.refund_calculation import RefundRequest
from refundry.domain.order.refunds import record_breakdown, refund_method
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund, RefundBreakdown, RefundKind, RefundMethod, RefundStatus
from refundry.domain.status import TERMINAL_STATUSES

STOP_KINDS = (RefundKind.CANCELLATION, RefundKind.AUTO_REFUND)


def owed_stop_refund(order: OrderRoot) -> Refund | None:
    """The earliest stop refund owed again, or ``None``."""
    if order.status not in TERMINAL_STATUSES or order.refundable.minor == 0:
        return None
    stopped = stopped_at(order)
    for position, failed in enumerate(order.refunds):
        if not failed_while_stopped(failed, stopped):
            continue  # failed before the order stopped: the stop covered its units
        if not any(made_again(failed, later) for later in order.refunds[position + 1 :]):
            return failed
    return None


def retry_breakdown(order: OrderRoot, owed: Refund) -> RefundBreakdown:
    """The owed refund's breakdown again, none of its units restocked twice (they are on
    the shelf since the stop), trimmed to the money left if less is."""
    again = replace(
        owed.breakdown,
        lines=tuple(replace(line, restocked_quantity=0) for line in owed.breakdown.lines),
    )
    short = again.total - order.refundable
    if short.minor > 0:
        again = replace(again, adjustment=again.adjustment - short)
    return again


def check_retry_request(order: OrderRoot, owed: Refund, request: RefundRequest) -> None:
    """An owed stop refund is made again whole: a retry names no lines, shipping or amount."""
    if not request.everything:
        what = owed.kind.value.replace("_", " ")
        raise OrderNotRefundable(
            f"the order is {order.status} and its {what} refund failed: retry it whole "
            f"(refund with an empty body), so it counts as the {what} it is",
            order_status=order.status.value,
            failed_refund_id=str(owed.id),
        )


def retry_stop_refund(
    order: OrderRoot,
    owed: Refund,
    request: RefundRequest,
    *,
    method: RefundMethod | None,
    reason: str | None,
    created_by: str,
    now: datetime,
) -> Refund:
    check_retry_request(order, owed, request)
    chosen = refund_method(order, method)  # checked before anything changes
    breakdown = retry_breakdown(order, owed)
    for line in owed.breakdown.lines:
        # The failure left these units cancelled without a refund; they are refunded again.
        order.line(line.order_line_id).cancelled_quantity -= line.unfulfilled_quantity
    made = record_breakdown(
        order,
        breakdown,
        kind=owed.kind,
        method=chosen,
        reason=reason or owed.reason,
        created_by=created_by,
        now=now,
        derive_status=False,
    )
    order.events.append(OrderRefunded(order.id, made.id))
    return made


def made_again(failed: Refund, later: Refund) -> bool:
    """``later`` makes the refused ``failed`` again (whatever became of it since)."""
    return (
        later.kind is failed.kind
        and _units(later) == _units(failed)
        and later.breakdown.shipping == failed.breakdown.shipping
    )


def _units(refund: Refund) -> list[tuple[object, int]]:
    return [(line.order_line_id, line.quantity) for line in refund.breakdown.lines]


def failed_while_stopped(refund: Refund, stopped: datetime | None) -> bool:
    """Refused once the order had stopped (before that, the stop covered its units)."""
    return (
        refund.kind in STOP_KINDS
        and refund.status is RefundStatus.FAILED
        and stopped is not None
        and refund.history[-1].at >= stopped
    )


def stopped_at(order: OrderRoot) -> datetime | None:
    """When the order was cancelled or reversed automatically."""
    if order.cancelled_at is not None:
        return order.cancelled_at
    automatic = [r for r in order.refunds if r.kind is RefundKind.AUTO_REFUND]
    return automatic[0].created_at if automatic else None
