"""What happened to an order that others must act on.

Events are tiny, past-tense facts the order records as it changes. Before the commit the
message bus (``services/messagebus.py``) hands each to the handlers its table names, which
write what follows in the same transaction; the worker acts on those rows afterwards, so a
crash between the commit and the call loses nothing.

Audiences:

- the payment provider (``ProviderWorkEvent``): money to send back, a hold to release;
- the merchant's webhook endpoints (``NotifiableEvent``): what was cancelled or
  refunded, how each refund's status moved, and each return's progress;
- the points ledger (``PointsEvent``) and the store credit ledger (``StoreCreditIssued``);
- the merchant's stock levels (``StockMoved``): units the order put on or took off the
  shelf.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from refundry.domain.refund import RefundStatus
from refundry.domain.returns import ReturnStatus


@dataclass(frozen=True, slots=True)
class RefundRequested:
    """A refund to the original payment method must be sent to the order's provider."""

    order_id: uuid.UUID
    refund_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AuthorizationVoidRequested:
    """A cancelled order's uncaptured authorization must be released at the provider."""

    order_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class CancelledUnits:
    order_line_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order, or one item of it (``item_id``), was stopped for good.

    ``refund_id`` names the cancellation refund when captured money had to go back.
    """

    order_id: uuid.UUID
    item_id: uuid.UUID | None
    units: tuple[CancelledUnits, ...]
    refund_id: uuid.UUID | None
    reason: str
    actor: str
    authorization_voided: bool = False  # the hold is released (nothing was captured)


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    """Money was given back after settlement (through Refundry or the provider's dashboard)."""

    order_id: uuid.UUID
    refund_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class RefundStatusChanged:
    order_id: uuid.UUID
    refund_id: uuid.UUID
    previous: RefundStatus
    status: RefundStatus


@dataclass(frozen=True, slots=True)
class PointsAwarded:
    """An earning order's payment was captured: its customer earns these points."""

    order_id: uuid.UUID
    points: int


@dataclass(frozen=True, slots=True)
class PointsReversed:
    """A refund takes back points the order awarded (``points`` < 0: gives them back,
    because a refund that had taken them failed)."""

    order_id: uuid.UUID
    refund_id: uuid.UUID
    points: int


@dataclass(frozen=True, slots=True)
class PointsRedeemed:
    """A redeem order's checkout spent the customer's points to pay part of the total."""

    order_id: uuid.UUID
    points: int


@dataclass(frozen=True, slots=True)
class PointsRestored:
    """A refund of a redeem order gives redeemed points back (``points`` < 0: takes them
    again, because a refund that had given them back failed)."""

    order_id: uuid.UUID
    refund_id: uuid.UUID
    points: int


@dataclass(frozen=True, slots=True)
class StoreCreditIssued:
    """A refund was given back for good, and ``amount`` of it goes to the customer's store
    credit in the order's currency."""

    order_id: uuid.UUID
    refund_id: uuid.UUID
    amount: int


@dataclass(frozen=True, slots=True)
class OrderAutoRefunded:
    """Reconciliation found the redeem order's transaction record missing, so Refundry
    reversed the order itself: terminal, refund-class (seed 004)."""

    order_id: uuid.UUID
    refund_id: uuid.UUID
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class StockMoved:
    """Units of the order's stocked lines changed place: ``moves`` holds ``(sku, units)``
    pairs sorted by SKU, each SKU once, never zero. Positive units are back on the shelf (a
    cancel, a restocking refund), negative ones taken off it (placement, a failed refund
    undoing its restock). ``domain.order.restock`` is the one rule that works them out."""

    order_id: uuid.UUID
    moves: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ReturnChanged:
    """A return was created (``previous`` is None), or its status moved or units arrived."""

    order_id: uuid.UUID
    return_id: uuid.UUID
    previous: ReturnStatus | None
    actor: str


ProviderWorkEvent = RefundRequested | AuthorizationVoidRequested
PointsEvent = PointsAwarded | PointsReversed | PointsRedeemed | PointsRestored
NotifiableEvent = (
    OrderCancelled | OrderRefunded | RefundStatusChanged | OrderAutoRefunded | ReturnChanged
)
DomainEvent = ProviderWorkEvent | NotifiableEvent | PointsEvent | StoreCreditIssued | StockMoved
