"""An order's timeline: every action on it, when, who did it and why, from what the order
and its refunds record (nothing is kept twice to draw it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.money import Money
from refundry.domain.order import Order
from refundry.domain.staff import RefundApproval, StaffMember

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
    "cancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    what: str
    who: str
    why: str | None = None


def who(actor: str, team: dict[str, str]) -> str:
    """``staff:<id>`` as the member's e-mail; API keys, the provider and Refundry by name."""
    kind, _, identifier = actor.partition(":")
    if kind == "staff":
        return team.get(identifier, "a former team member")
    if kind == "api_key":
        return f"API key {identifier[:8]}…"
    if kind == "provider":
        return "the payment provider"
    if kind == "system":
        return f"Refundry ({identifier})" if identifier else "Refundry"
    return actor


def return_detail(order: Order, detail: str | None) -> str | None:
    """A return's change as a person reads it: items by name, not by line id."""
    if detail:
        for line in order.lines:
            detail = detail.replace(f"of line {line.id}", f"of {line.name}")
    return detail


def timeline(
    order: Order,
    members: list[StaffMember],
    approvals: list[RefundApproval],
    money: Callable[[Money], str],
) -> list[Entry]:
    team = {str(member.id): member.email for member in members}
    entries = [Entry(order.created_at, "Order placed", "the checkout")]
    for refund in order.refunds:
        actor = who(refund.created_by, team)
        label = refund.kind.value.replace("_", " ")
        entries.append(
            Entry(
                refund.created_at,
                f"{label.capitalize()} of {money(refund.amount)}",
                actor,
                refund.reason,
            )
        )
        for change in refund.history[1:]:
            entries.append(
                Entry(
                    change.at,
                    f"{label.capitalize()} {REFUND_STEPS[change.status.value]}",
                    "the payment provider" if refund.is_sent_to_provider else "Refundry",
                    change.detail,
                )
            )
    for number, link in enumerate(order.links, 1):
        if link.accessed_at is not None:
            entries.append(
                Entry(link.accessed_at, f"Gift card link {number} opened", "the consumer")
            )
        if link.cancelled_at is not None:
            entries.append(
                Entry(
                    link.cancelled_at, f"Gift card link {number} cancelled", "", link.cancel_reason
                )
            )
    for order_return in order.returns:
        name = f"Return #{str(order_return.id)[:8]}"
        for step in order_return.history:
            entries.append(
                Entry(
                    step.at,
                    f"{name} {RETURN_STEPS[step.status.value]}",
                    who(step.actor, team),
                    return_detail(order, step.detail),
                )
            )
    if order.cancelled_at is not None:
        entries.append(Entry(order.cancelled_at, "Order cancelled", "", order.cancel_reason))
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
