"""An order's timeline: every action on it, when, who did it and why, from what the order
and its refunds record (nothing is kept twice to draw it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.money import Money
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.refund import RefundKind
from refundry.domain.returns import ReturnStatusChange
from refundry.domain.staff import RefundApproval
from refundry.entrypoints.actors import Actors
from refundry.entrypoints.dashboard.order_reading import reason_in_words

REFUND_STEPS = {
    "not_requested": "recorded as returned by other means",
    "started": "started",
    "processing": "accepted by the provider",
    "completed": "completed",
    "failed": "failed",
}


RETURN_STEPS = {
    "requested": "requested",
    "open": "opened",
    "partially_received": "partly received",
    "received": "received",
    "closed": "closed",
    "declined": "declined",
    "cancelled": "canceled",
}


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    what: str
    who: str
    why: str | None = None


def cancelled_by(order: Order, at: datetime, given: str | None) -> str | None:
    """Who cancelled: as recorded, else (a cancellation recorded before migration 0017)
    whoever made the cancellation refund written at the same moment."""
    if given is not None:
        return given
    for refund in order.refunds:
        if refund.kind is RefundKind.CANCELLATION and refund.created_at == at:
            return refund.created_by
    return None


def void_answer(order: Order, actors: Actors, money: Callable[[Money], str]) -> list[Entry]:
    """The provider's answer to the release of the order's hold (seed 001: "the
    authorization will be removed"), when it came."""
    payment = order.payment
    at = payment.authorization_void_answered_at
    if at is None:
        return []  # not answered yet, or answered before Refundry kept when (0020)
    held = money(payment.authorized - payment.settled_at_checkout)
    if payment.authorization_state is AuthorizationState.VOIDED:
        why = f"The hold of {held} is released to the customer"
        return [Entry(at, "Authorization removed", actors.provider, why)]
    if payment.authorization_state is AuthorizationState.VOID_FAILED:
        why = f"The hold of {held} may have been captured: check it at {actors.provider}"
        return [Entry(at, "Authorization removal refused", actors.provider, why)]
    return []


@dataclass(frozen=True, slots=True)
class ReturnStep:
    """A return's status change as a person reads it: what happened ("approved"), what
    Refundry noted about it ("1 resellable and 0 damaged of Mug"), and why, only when
    someone gave a reason (a decline's, a cancel's) or a refund failed."""

    what: str
    fact: str | None = None
    why: str | None = None


# The domain's detail when a step has nothing more to say (a cancel without a reason).
_STEP_ONLY = {"requested", "opened", "cancelled"}


def return_step(order: Order, change: ReturnStatusChange) -> ReturnStep:
    status = change.status.value
    detail = change.detail
    if detail:
        for line in order.lines:  # items by name, not by line id
            detail = detail.replace(f"of line {line.id}", f"of {line.name}")
    if not detail or detail in _STEP_ONLY:
        return ReturnStep(RETURN_STEPS[status])
    if status in ("declined", "cancelled"):
        return ReturnStep(RETURN_STEPS[status], why=detail)  # the reason a person gave
    if detail == "approved":
        return ReturnStep("approved")
    if detail.startswith("received "):
        return ReturnStep(RETURN_STEPS[status], fact=detail.removeprefix("received "))
    if status == "closed":
        return ReturnStep("closed", fact=detail)  # refunded or exchanged, units released
    return ReturnStep("reopened", why=detail)  # its refund failed: to be refunded again


def timeline(
    order: Order,
    actors: Actors,
    approvals: list[RefundApproval],
    money: Callable[[Money], str],
) -> list[Entry]:
    entries = [Entry(order.created_at, "Order placed", "The checkout")]
    for refund in order.refunds:
        actor = actors.name(refund.created_by)
        label = refund.kind.value.replace("_", " ")
        entries.append(
            Entry(
                refund.created_at,
                f"{label.capitalize()} of {money(refund.amount)}",
                actor,
                reason_in_words(refund.reason),
            )
        )
        for change in refund.history[1:]:
            entries.append(
                Entry(
                    change.at,
                    f"{label.capitalize()} {REFUND_STEPS[change.status.value]}",
                    actors.provider if refund.is_sent_to_provider else "Refundry",
                    change.detail,
                )
            )
    for number, link in enumerate(order.links, 1):
        if link.accessed_at is not None:
            entries.append(
                Entry(link.accessed_at, f"Gift card link {number} opened", "The consumer")
            )
        if link.cancelled_at is not None:
            entries.append(
                Entry(
                    link.cancelled_at,
                    f"Gift card link {number} canceled",
                    actors.name(cancelled_by(order, link.cancelled_at, link.cancelled_by)),
                    reason_in_words(link.cancel_reason),
                )
            )
    for order_return in order.returns:
        name = f"Return #{str(order_return.id)[:8]}"
        for moved in order_return.history:
            step = return_step(order, moved)
            what = f"{name} {step.what}" + (f": {step.fact}" if step.fact else "")
            entries.append(Entry(moved.at, what, actors.name(moved.actor), step.why))
    if order.cancelled_at is not None:
        by = actors.name(cancelled_by(order, order.cancelled_at, order.cancelled_by))
        why = reason_in_words(order.cancel_reason)
        entries.append(Entry(order.cancelled_at, "Order canceled", by, why))
    entries.extend(void_answer(order, actors, money))
    for approval in approvals:
        entries.append(
            Entry(
                approval.created_at,
                f"Refund of {money(approval.amount)} asked for, above the limit",
                approval.requested_by_email,
                approval.reason,
            )
        )
        if approval.decided_at is not None:
            entries.append(
                Entry(
                    approval.decided_at,
                    f"Refund {approval.status.value}",
                    approval.decided_by_email or "",
                    approval.decision_note,
                )
            )
    return sorted(entries, key=lambda entry: entry.at)
