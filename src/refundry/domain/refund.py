"""The refund ledger: what was given back, how, and where it stands.

Refund statuses:

- ``not_requested``: money returned by other means outside Refundry; recorded only
  ("Not requested by administrator" in the dashboard).
- ``started``: accepted by Refundry, not yet sent to the provider.
- ``processing``: the provider has it and has not settled it.
- ``completed``: the provider settled it; the money is back with the customer.
- ``failed``: the provider refused it; it no longer counts against the refundable cap.

Every refund except a failed one counts against the cap: pending money is
money promised, and promising it twice is how platforms over-refund.

Statuses move only along ``REFUND_TRANSITIONS``. A refund fails only on the
provider's word (a decline or an invalid request), never on a timeout: a refund
that timed out may have been paid, and calling it failed would let it be paid twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import IllegalTransition
from refundry.domain.money import Currency, Money


class RefundMethod(StrEnum):
    ORIGINAL = "original"  # back to the payment method the customer used
    OTHER = "other"  # returned outside Refundry (cash, bank transfer, voucher)
    FLOAT = "float"  # credited to the merchant's prepaid float when the invoice cycle closes
    STORE_CREDIT = "store_credit"  # credited to the customer's store credit, completed at once


class RefundStatus(StrEnum):
    NOT_REQUESTED = "not_requested"
    STARTED = "started"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class RefundKind(StrEnum):
    REFUND = "refund"
    CANCELLATION = "cancellation"  # the record a cancel creates so sales reports stay right
    AUTO_REFUND = "auto_refund"  # reconciliation reversed a redeem order (seed 004)
    EXTERNAL = "external"  # made in the provider's own dashboard; learnt from its events


_R = RefundStatus

REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    _R.STARTED: frozenset({_R.PROCESSING, _R.COMPLETED, _R.FAILED}),
    _R.PROCESSING: frozenset({_R.COMPLETED, _R.FAILED}),
    _R.NOT_REQUESTED: frozenset(),
    _R.COMPLETED: frozenset(),
    _R.FAILED: frozenset(),
}

# Refunds that still wait for the provider (or for the invoice close, on the float).
PENDING_REFUND_STATUSES = frozenset({_R.STARTED, _R.PROCESSING})


@dataclass(frozen=True, slots=True)
class RefundLine:
    """Units of one order line given back, with their exact share of discount and tax."""

    order_line_id: uuid.UUID
    quantity: int
    unfulfilled_quantity: int  # of ``quantity``, units that had not shipped
    restocked_quantity: int
    subtotal: Money  # unit price x quantity, tax-exclusive, before discount
    discount: Money
    tax: Money

    @property
    def amount(self) -> Money:
        return self.subtotal - self.discount + self.tax


@dataclass(frozen=True, slots=True)
class RefundBreakdown:
    """What a refund gives back, component by component; preview and commit share it."""

    currency: Currency
    lines: tuple[RefundLine, ...]
    shipping: Money
    shipping_tax: Money
    goodwill: Money  # a free amount on top of lines and shipping, no tax split
    adjustment: Money  # <= 0: trims a full refund to what is left of the capture
    fees: Money  # >= 0: kept by the merchant from a return (restocking, return shipping)

    @property
    def lines_amount(self) -> Money:
        return sum_money((line.amount for line in self.lines), self.currency)

    @property
    def tax(self) -> Money:
        return sum_money((line.tax for line in self.lines), self.currency) + self.shipping_tax

    @property
    def total(self) -> Money:
        return (
            self.lines_amount
            + self.shipping
            + self.shipping_tax
            + self.goodwill
            + self.adjustment
            - self.fees
        )


@dataclass(frozen=True, slots=True)
class RefundStatusChange:
    status: RefundStatus
    at: datetime
    detail: str | None = None


@dataclass(slots=True)
class Refund:
    id: uuid.UUID
    order_id: uuid.UUID
    kind: RefundKind
    method: RefundMethod
    breakdown: RefundBreakdown
    reason: str | None
    created_by: str
    created_at: datetime
    status: RefundStatus
    history: list[RefundStatusChange] = field(default_factory=list)
    completed_at: datetime | None = None
    failure_reason: str | None = None
    provider_reference: str | None = None  # the provider's id for this refund, once it has one
    # Loyalty points this refund took back from its earning order (less any it gave back
    # when it failed).
    points_reversed: int = 0
    # Redeem orders: the redeemed points this refund gave back (less any it took again
    # when it failed), and the part of ``amount`` they stand for; the provider returns
    # only the rest.
    points_restored: int = 0
    points_value: Money | None = None
    # The part of ``amount`` given back as store credit: all of it (less any points part)
    # for method ``store_credit``; on an order paid partly with store credit, the part up
    # to the store credit not given back yet (given back first). Credited to the customer
    # when the refund completes, never before, so a failed refund credits nothing.
    store_credit_value: Money | None = None

    @property
    def amount(self) -> Money:
        return self.breakdown.total

    @property
    def money_amount(self) -> Money:
        """What goes back as money: the amount less the parts given back in points and
        as store credit."""
        money = self.amount
        if self.points_value is not None:
            money = money - self.points_value
        if self.store_credit_value is not None:
            money = money - self.store_credit_value
        return money

    @property
    def is_settled(self) -> bool:
        """Given back for good: completed, or returned by other means (not_requested)."""
        return self.status in (RefundStatus.COMPLETED, RefundStatus.NOT_REQUESTED)

    @property
    def counts_against_cap(self) -> bool:
        return self.status is not RefundStatus.FAILED

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_REFUND_STATUSES

    @property
    def is_sent_to_provider(self) -> bool:
        """Money to the original payment method leaves through the order's provider."""
        return self.method is RefundMethod.ORIGINAL and self.kind is not RefundKind.EXTERNAL

    def mark_processing(self, now: datetime, provider_reference: str | None) -> bool:
        """The provider accepted the refund; ``False`` when it was already known to be so."""
        if provider_reference is not None:
            self.provider_reference = provider_reference
        if self.status is RefundStatus.PROCESSING:
            return False
        self._move_to(RefundStatus.PROCESSING, now, None)
        return True

    def complete(self, now: datetime, detail: str | None = None) -> None:
        self._move_to(RefundStatus.COMPLETED, now, detail)
        self.completed_at = now

    def fail(self, now: datetime, reason: str) -> None:
        self._move_to(RefundStatus.FAILED, now, reason)
        self.failure_reason = reason

    def _move_to(self, target: RefundStatus, now: datetime, detail: str | None) -> None:
        if target not in REFUND_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"refund {self.id} is {self.status}; it cannot become {target}",
                current=self.status.value,
                target=target.value,
            )
        self.status = target
        self.history.append(RefundStatusChange(target, now, detail))

    @classmethod
    def record(
        cls,
        *,
        order_id: uuid.UUID,
        kind: RefundKind,
        method: RefundMethod,
        breakdown: RefundBreakdown,
        reason: str | None,
        created_by: str,
        now: datetime,
        provider_reference: str | None = None,
    ) -> Refund:
        # Money by other means is only recorded; everything else starts and settles
        # later: at the provider, or at the invoice close for the float. A refund made
        # in the provider's own dashboard is already done when Refundry learns of it.
        if method is RefundMethod.OTHER:
            status, completed_at = RefundStatus.NOT_REQUESTED, None
        elif kind is RefundKind.EXTERNAL:
            status, completed_at = RefundStatus.COMPLETED, now
        else:
            status, completed_at = RefundStatus.STARTED, None
        return cls(
            id=uuid.uuid4(),
            order_id=order_id,
            kind=kind,
            method=method,
            breakdown=breakdown,
            reason=reason,
            created_by=created_by,
            created_at=now,
            status=status,
            history=[RefundStatusChange(status, now)],
            completed_at=completed_at,
            provider_reference=provider_reference,
        )


def sum_money(amounts: Iterable[Money], currency: Currency) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
