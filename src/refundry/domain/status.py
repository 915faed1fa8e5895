"""Order and fulfilment status vocabularies and the one order transition table.

Order statuses:

- ``pending``: received, no money authorized yet.
- ``authorized``: money is held on the customer's account, none captured.
- ``paid``: money captured and nothing refunded.
- ``partially_refunded``: some, not all, captured money is refunded (derived from the ledger).
- ``fully_refunded``: every captured unit of money is refunded (derived from the refund ledger).
- ``cancelled``: stopped before fulfilment; terminal and irreversible.
- ``auto_refunded``: reversed by the system during reconciliation; terminal, refund-class.

Fulfilment statuses, tracked beside the order status:

- ``unfulfilled``: no unit has shipped.
- ``partially_fulfilled``: some units shipped, some are still open.
- ``fulfilled``: units shipped and none is open.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    FULLY_REFUNDED = "fully_refunded"
    CANCELLED = "cancelled"
    AUTO_REFUNDED = "auto_refunded"


class FulfilmentStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"


_S = OrderStatus

# The refund-derived statuses may move back towards ``paid``: a refund that fails at
# the provider gives its amount back to the order, and the ledger decides. A status
# that stays the same (a second partial refund) is no transition at all.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.PENDING: frozenset({_S.AUTHORIZED, _S.PAID, _S.CANCELLED}),
    _S.AUTHORIZED: frozenset({_S.PAID, _S.CANCELLED}),
    _S.PAID: frozenset({_S.PARTIALLY_REFUNDED, _S.FULLY_REFUNDED, _S.CANCELLED, _S.AUTO_REFUNDED}),
    _S.PARTIALLY_REFUNDED: frozenset({_S.PAID, _S.FULLY_REFUNDED, _S.CANCELLED, _S.AUTO_REFUNDED}),
    _S.FULLY_REFUNDED: frozenset({_S.PAID, _S.PARTIALLY_REFUNDED}),
    _S.CANCELLED: frozenset(),
    _S.AUTO_REFUNDED: frozenset(),
}

TERMINAL_STATUSES = frozenset(
    status for status, targets in ALLOWED_TRANSITIONS.items() if not targets
)


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def mermaid_diagram() -> str:
    """The transition table as a Mermaid state diagram (the README embeds this text)."""
    lines = ["stateDiagram-v2", "    [*] --> pending"]
    for source in OrderStatus:
        for target in sorted(ALLOWED_TRANSITIONS[source]):
            lines.append(f"    {source.value} --> {target.value}")
    for status in sorted(TERMINAL_STATUSES):
        lines.append(f"    {status.value} --> [*]")
    return "\n".join(lines)
