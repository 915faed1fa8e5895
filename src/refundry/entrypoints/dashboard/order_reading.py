"""An order's cancels and refunds as a support agent reads them (issue 21, item 5).

The ledger keeps money and units apart: a cancel of captured units is a cancellation
*refund* of them, a cancel of units nothing was captured for only stops them, and a
cancelled order keeps its merchant's label. Read naively, the same cancel showed as
"Refunded 1" on a card order and "Cancelled 1" on a Klarna one, a cancelled order's badge
lost the word "cancelled", and a gift-card link's credit, which only the invoice close
settles, read as a refund "processing" for weeks. Here each reads as what it is.

The dashboard writes "canceled", as seed 001 names the status after a cancel ("by default,
Canceled") and Shopify's admin writes it; the API's values (``cancelled``) are a contract
and stay. Every status or reason Refundry wrote that a page shows passes through
``in_words`` or ``reason_in_words``, so the pages never mix the two spellings."""

from __future__ import annotations

from dataclasses import dataclass

from refundry.domain.order import (
    DEFAULT_CANCEL_REASON,
    DEFAULT_ITEM_CANCEL_REASON,
    Order,
    OrderLine,
)
from refundry.domain.refund import Refund, RefundKind, RefundMethod
from refundry.domain.status import OrderStatus

REFUND_STATUS_LABELS = {
    "not_requested": "Not requested by administrator",
    "started": "Started",
    "processing": "Processing",
    "completed": "Completed",
    "failed": "Failed",
}
CREDIT_DUE = "Credit due at invoice close"

# The reason kept when the agent gives none: where it was done (the API's default says
# "via API", which the timeline would show for a cancel made here). Kept as the API's
# other defaults are spelled, since the API returns it (cancel_reason).
CANCELLED_HERE = "Order cancelled in the dashboard"
ITEM_CANCELLED_HERE = "Order item cancelled in the dashboard"
# Reasons Refundry writes itself when none is given, as the dashboard spells them.
_OWN_REASONS = {
    reason: reason.replace("cancelled", "canceled")
    for reason in (
        DEFAULT_CANCEL_REASON,
        DEFAULT_ITEM_CANCEL_REASON,
        CANCELLED_HERE,
        ITEM_CANCELLED_HERE,
    )
}


def in_words(value: str) -> str:
    """A status as an API value writes it (``fully_refunded``, ``cancelled``) in the
    dashboard's words: spaces, and "canceled"."""
    return value.replace("_", " ").replace("cancelled", "canceled")


def reason_in_words(reason: str | None) -> str | None:
    """A reason as given, except the ones Refundry wrote itself, in the dashboard's spelling
    (a person's words are never changed)."""
    return None if reason is None else _OWN_REASONS.get(reason, reason)


@dataclass(frozen=True, slots=True)
class Badge:
    text: str
    tone: str  # the badge's CSS class


@dataclass(frozen=True, slots=True)
class ItemCounts:
    refunded: int  # units whose money came back for another reason than a cancel
    cancelled: int  # units stopped before fulfilment, whatever money that moved


def is_credit_due(refund: Refund) -> bool:
    """A float order's refund: credited to the merchant's float when the invoice cycle
    closes, not sent to a provider; nothing happens to it before then."""
    return refund.is_pending and refund.method is RefundMethod.FLOAT


def awaits_provider(refund: Refund) -> bool:
    """A refund whose status may change any moment (the page follows it)."""
    return refund.is_pending and not is_credit_due(refund)


def refund_status_label(refund: Refund) -> str:
    return CREDIT_DUE if is_credit_due(refund) else REFUND_STATUS_LABELS[refund.status.value]


def item_counts(order: Order, line: OrderLine) -> ItemCounts:
    cancelled_with_money = sum(
        refunded.quantity
        for refund in order.refunds
        if refund.kind is RefundKind.CANCELLATION and refund.counts_against_cap
        for refunded in refund.breakdown.lines
        if refunded.order_line_id == line.id
    )
    return ItemCounts(
        refunded=order.line_refunds(line.id).quantity - cancelled_with_money,
        cancelled=line.cancelled_quantity + cancelled_with_money,
    )


def status_badges(order: Order) -> list[Badge]:
    """What the order is, then where its money stands when that is news."""
    status = order.status
    counted = [refund for refund in order.refunds if refund.counts_against_cap]
    only_cancels = bool(counted) and all(r.kind is RefundKind.CANCELLATION for r in counted)
    if status is OrderStatus.CANCELLED:
        label = order.status_label
        shown = "canceled" if label in (None, "", "cancelled") else f"canceled · {label}"
        badges = [Badge(shown, "cancelled")]
        if order.refunded.minor and not any(awaits_provider(r) for r in order.refunds):
            whole = order.refunded >= order.payment.captured
            if not any(is_credit_due(r) for r in order.refunds):
                badges.append(Badge("refunded" if whole else "partly refunded", "completed"))
    elif status is OrderStatus.PARTIALLY_REFUNDED and only_cancels:
        badges = [Badge("partly canceled", "cancelled")]
    else:
        badges = [Badge(in_words(status.value), status.value)]
    if any(awaits_provider(refund) for refund in order.refunds):
        badges.append(Badge("refund processing", "processing"))
    if any(is_credit_due(refund) for refund in order.refunds):
        badges.append(Badge(CREDIT_DUE.lower(), "processing"))
    return badges
