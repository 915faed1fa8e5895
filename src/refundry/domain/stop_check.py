"""What ``refundry verify`` checks of stopped orders' refunds:

- a cancellation (or automatic) refund the provider refused is retried as itself. A
  goodwill refund of its amount in its place, with no units, is the mismatch issue 19 found
  (before the retry was fixed): the reports then count a sale and a refund where there was
  a cancellation, and the items report counts the units as sold;
- a stopped order holds no money but what refunds refused since it stopped owe. An older
  defect left more: an item cancelled while the money was only held, then a capture of the
  whole order, then its last item cancelled; the first item's money stayed captured.
"""

from __future__ import annotations

from refundry.domain.ledger_check import Drift
from refundry.domain.order import Order, failed_while_stopped, stopped_at
from refundry.domain.refund import RefundKind, RefundStatus, sum_money
from refundry.domain.status import TERMINAL_STATUSES


def stop_refund_drifts(order: Order) -> list[Drift]:
    """Money a stopped order holds beyond what refunds refused since it stopped owe; and a goodwill
    refund (kind refund, no units) made after a stop refund the provider refused once the
    order had stopped: the money went back in the refused refund's place as goodwill (a
    refund made in the provider's own dashboard is kind external, not this)."""
    if order.status not in TERMINAL_STATUSES:
        return []
    stopped = stopped_at(order)
    drifts = _money_left(order)
    for position, failed in enumerate(order.refunds):
        if not failed_while_stopped(failed, stopped):
            continue
        for later in order.refunds[position + 1 :]:
            if (
                later.kind is RefundKind.REFUND
                and later.counts_against_cap
                and not later.breakdown.lines
            ):
                drifts.append(
                    Drift(
                        "stop_refund_as_goodwill",
                        order.merchant_id,
                        f"refund {later.id} of order {order.id}",
                        f"the {failed.kind.value} refund {failed.id} again, with its units",
                        "a goodwill amount with no units, tax or shipping",
                    )
                )
        break  # the first such refusal names every goodwill after it once
    return drifts


def _money_left(order: Order) -> list[Drift]:
    """A stopped order gave back everything it held when it stopped; money is refundable
    again only as far as refunds the provider refused after that (any kind: one made
    before the stop may fail after it)."""
    stopped = stopped_at(order)
    refused = sum_money(
        (
            refund.amount
            for refund in order.refunds
            if refund.status is RefundStatus.FAILED
            and stopped is not None
            and refund.history[-1].at >= stopped
        ),
        order.currency,
    )
    if order.refundable <= refused:
        return []
    return [
        Drift(
            "money_left_on_stopped_order",
            order.merchant_id,
            f"order {order.id}",
            f"at most {refused} refundable (what refunds refused since the stop owe)",
            f"{order.refundable} refundable",
        )
    ]
