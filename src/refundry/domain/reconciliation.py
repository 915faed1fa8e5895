"""Reconciliation: the transactions the points or payment system says happened, set
against Refundry's orders.

Seed 004: when an expected transaction record is missing for a redeem ("replacing")
order, the backend reverses the order itself, as the terminal, refund-class state
``auto_refunded``. Everything else that does not match is reported, never acted on:
money is not moved on a guess.

Discrepancy kinds:

- ``missing_record``: a settled redeem order had no record after the grace period;
  Refundry reversed it (``action``: ``auto_refunded``).
- ``amount_mismatch``: a record's amount, currency or points differ from its order's.
- ``record_without_order``: a record names no order Refundry knows, after the grace period.
- ``record_after_auto_refund``: a record arrived for an order already reversed: the
  customer may have been paid back for a payment that did happen; support must look.
- ``auto_refund_failed``: a redeem order could not be reversed, or its reversal's money
  did not go back (the provider refused it): money is still owed; refund it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import InvalidInput
from refundry.domain.money import Money
from refundry.domain.order import MAX_ORDER_TOTAL_MINOR, in_utc_range

MAX_TRANSACTION_ID = 255
MAX_ORDER_REFERENCE = 200
MAX_POINTS = 10**12


class DiscrepancyKind(StrEnum):
    MISSING_RECORD = "missing_record"
    AMOUNT_MISMATCH = "amount_mismatch"
    RECORD_WITHOUT_ORDER = "record_without_order"
    RECORD_AFTER_AUTO_REFUND = "record_after_auto_refund"
    AUTO_REFUND_FAILED = "auto_refund_failed"


@dataclass(frozen=True, slots=True)
class ExpectedRecord:
    """One transaction the points or payment system reports.

    ``order_reference`` is the order's external id (or its Refundry id); ``amount`` is
    what the order settled (money and points' value together); ``points`` the points
    it redeemed, when the system reports them.
    """

    transaction_id: str
    order_reference: str
    amount: Money
    points: int | None = None
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.transaction_id) <= MAX_TRANSACTION_ID or not _printable(
            self.transaction_id
        ):
            raise InvalidInput(
                f"transaction_id must be 1 to {MAX_TRANSACTION_ID} printable characters",
                transaction_id=self.transaction_id[:MAX_TRANSACTION_ID],
            )
        if not 0 < len(self.order_reference) <= MAX_ORDER_REFERENCE or not _printable(
            self.order_reference
        ):
            raise InvalidInput(
                f"order must be 1 to {MAX_ORDER_REFERENCE} printable characters",
                transaction_id=self.transaction_id,
            )
        if not 0 <= self.amount.minor <= MAX_ORDER_TOTAL_MINOR:
            raise InvalidInput(
                f"amount must be 0 to {MAX_ORDER_TOTAL_MINOR} minor units",
                transaction_id=self.transaction_id,
            )
        if self.points is not None and not 0 <= self.points <= MAX_POINTS:
            raise InvalidInput(
                f"points must be 0 to {MAX_POINTS}", transaction_id=self.transaction_id
            )
        if self.occurred_at is not None and not in_utc_range(self.occurred_at):
            raise InvalidInput(
                "occurred_at must fall in the years 1 to 9999 in UTC",
                transaction_id=self.transaction_id,
            )


def _printable(text: str) -> bool:
    return text.isprintable() and text.strip() == text


@dataclass(frozen=True, slots=True)
class Discrepancy:
    merchant_id: uuid.UUID
    kind: DiscrepancyKind
    subject: str  # the transaction id, or the order id for a missing record
    found_at: datetime
    transaction_id: str | None = None
    order_id: uuid.UUID | None = None
    currency: str | None = None
    order_amount: int | None = None
    record_amount: int | None = None
    order_points: int | None = None
    record_points: int | None = None
    action: str | None = None
    resolved_at: datetime | None = None

    @property
    def explanation(self) -> str:
        """What support reads: what was found, and what (if anything) Refundry did."""
        match self.kind:
            case DiscrepancyKind.MISSING_RECORD:
                return (
                    "no transaction record arrived for this redeem order within the grace "
                    "period; Refundry reversed it (auto_refunded): money and points given back"
                )
            case DiscrepancyKind.AMOUNT_MISMATCH:
                parts = []
                if self.order_amount != self.record_amount:
                    parts.append(
                        f"the record says {self.record_amount}, the order settled "
                        f"{self.order_amount} (minor units of {self.currency})"
                    )
                if self.order_points != self.record_points and self.record_points is not None:
                    parts.append(
                        f"the record says {self.record_points} points, the order redeemed "
                        f"{self.order_points}"
                    )
                return "; ".join(parts) or f"the record is in {self.currency}, the order is not"
            case DiscrepancyKind.RECORD_WITHOUT_ORDER:
                return "the record names an order Refundry does not know"
            case DiscrepancyKind.RECORD_AFTER_AUTO_REFUND:
                return (
                    "the record arrived after Refundry had reversed the order for want of it: "
                    "the customer may have been given back a payment that did happen"
                )
            case DiscrepancyKind.AUTO_REFUND_FAILED:
                return (
                    "the redeem order's record is missing, but its reversal did not give the "
                    "money back (it could not be made, or the provider refused it): refund "
                    "what the order still owes"
                )


@dataclass(frozen=True, slots=True)
class ReconciliationOutcome:
    records_linked: int  # records matched to their orders in this run
    orders_auto_refunded: tuple[uuid.UUID, ...]
    discrepancies_found: int  # new in this run (a rerun finds none)
    discrepancies_resolved: int  # earlier ones that no longer hold
