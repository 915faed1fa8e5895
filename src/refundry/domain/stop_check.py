"""What ``refundry verify`` checks of stopped orders' refunds: a cancellation (or automatic)
refund the provider refused is retried as itself. A goodwill refund of its amount in its
place, with no units, is the mismatch issue 19 found (before the retry was fixed): the
reports then count a sale and a refund where there was a cancellation, and the items report
counts the units as sold."""

from __future__ import annotations

from refundry.domain.ledger_check import Drift
from refundry.domain.order import Order
from refundry.domain.refund import RefundKind, RefundStatus
from refundry.domain.status import TERMINAL_STATUSES

STOP_KINDS = (RefundKind.CANCELLATION, RefundKind.AUTO_REFUND)


def stop_refund_drifts(order: Order) -> list[Drift]:
    if order.status not in TERMINAL_STATUSES:
        return []
    drifts = []
    for position, failed in enumerate(order.refunds):
        if failed.kind not in STOP_KINDS or failed.status is not RefundStatus.FAILED:
            continue
        for later in order.refunds[position + 1 :]:
            if (
                later.kind is RefundKind.REFUND
                and later.counts_against_cap
                and not later.breakdown.lines
                and later.amount == failed.amount
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
    return drifts
