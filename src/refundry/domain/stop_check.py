"""What ``refundry verify`` checks of stopped orders' refunds:

- a cancellation (or automatic) refund the provider refused is retried as itself. A
  goodwill refund of its amount in its place, with no units, is the mismatch issue 19 found
  (before the retry was fixed): the reports then count a sale and a refund where there was
  a cancellation, and the items report counts the units as sold;
- a stopped order kept no money when it stopped: its refunds made by then give back all it
  captured (some may fail later, and what they owe is refundable again). An older defect
  left money: an item cancelled while the money was only held, then a capture of the
  whole order, then its last item cancelled; the first item's money stayed captured.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.ledger_check import Drift
from refundry.domain.money import Money
from refundry.domain.order import (
    STOP_KINDS,
    Order,
    failed_while_stopped,
    made_again,
    stopped_at,
)
from refundry.domain.refund import RefundKind, sum_money
from refundry.domain.status import TERMINAL_STATUSES


def stop_refund_drifts(order: Order) -> list[Drift]:
    """Money a stopped order kept when it stopped; and a goodwill refund (kind refund, no
    units) made after a stop refund the provider refused once the order had stopped, before
    it was made again: the money went back in the refused refund's place as goodwill (a
    refund made in the provider's own dashboard is kind external, not this)."""
    if order.status not in TERMINAL_STATUSES:
        return []
    stopped = stopped_at(order)
    drifts = _money_left(order)
    named: set[uuid.UUID] = set()
    for position, failed in enumerate(order.refunds):
        if not failed_while_stopped(failed, stopped):
            continue
        for later in order.refunds[position + 1 :]:
            if made_again(failed, later):
                break  # owed no more: a goodwill refund after this is not in its place
            if (
                later.kind is RefundKind.REFUND
                and later.counts_against_cap
                and not later.breakdown.lines
                and later.id not in named
            ):
                named.add(later.id)
                drifts.append(
                    Drift(
                        "stop_refund_as_goodwill",
                        order.merchant_id,
                        f"refund {later.id} of order {order.id}",
                        f"the {failed.kind.value} refund {failed.id} again, with its units",
                        "a goodwill amount with no units, tax or shipping",
                    )
                )
    return drifts


def _money_left(order: Order) -> list[Drift]:
    """A stopped order gave back everything it held when it stopped: its captured money is
    what the refunds made by then give back, counting those the provider refused only
    after it (a line refund made before a cancel may fail after it, and a stop refund may
    fail). Checked as of the stop, so a refused refund made again since hides nothing
    (``refundable`` alone would: a retry takes the stranded money's place as owed)."""
    stopped = stopped_at(order)
    made_by_then = order.refunds[: _refunds_by_the_stop(order, stopped)]
    given_back = sum_money(
        (
            refund.amount
            for refund in made_by_then
            if refund.counts_against_cap
            or (stopped is not None and refund.history[-1].at >= stopped)
        ),
        order.currency,
    )
    held = order.payment.captured - given_back
    if held.minor <= 0:
        return []
    # What the refused refunds owe, less refunds made since: refundable but for the defect.
    owed = order.refundable - held
    return [
        Drift(
            "money_left_on_stopped_order",
            order.merchant_id,
            f"order {order.id}",
            f"{max(owed, Money.zero(order.currency))} refundable (what refunds refused since "
            "the stop owe, less refunds made since)",
            f"{order.refundable} refundable: {held} was left when it stopped",
        )
    ]


def _refunds_by_the_stop(order: Order, stopped: datetime | None) -> int:
    """How many of the order's refunds (oldest first) were made by the time it stopped:
    up to its stop refund, the first cancellation or automatic refund made at that moment
    (a retry made in the same instant comes after it); all made by then if it had none
    (nothing was captured)."""
    if stopped is None:
        return len(order.refunds)
    for position, refund in enumerate(order.refunds):
        if refund.kind in STOP_KINDS and refund.created_at == stopped:
            return position + 1
    return sum(1 for refund in order.refunds if refund.created_at <= stopped)
