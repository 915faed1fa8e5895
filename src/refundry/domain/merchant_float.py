"""The merchant's prepaid float: a ledger of entries, and the invoice cycles that close it.

Entry kinds (``amount`` is signed, in the float's currency):

- ``top_up``: money the merchant paid in (+).
- ``order_charge``: the cost of a float-paid order (-).
- ``credit``: a cancelled item's cost, applied when its invoice cycle closes (+).
- ``adjustment``: a manual correction (+ or -).

The balance is the sum of the entries, never a number kept beside them. A cancelled
item's credit waits as a float refund in status ``started`` until the close that
applies it; each refund is credited at most once (the close checks, and the ledger
has a unique index on the refund id).

Invoice cycles are aligned to UTC calendar boundaries. A changed cycle never reaches
back: the cycle open when it changes keeps its length and end, the next one runs from
there to the next calendar boundary of the new cycle, and whole cycles follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from refundry.domain.errors import CurrencyMismatch, FloatInsufficient, InvalidAmount, InvalidInput
from refundry.domain.money import Currency, Money


class FloatEntryKind(StrEnum):
    TOP_UP = "top_up"
    ORDER_CHARGE = "order_charge"
    CREDIT = "credit"
    ADJUSTMENT = "adjustment"


class InvoiceCycle(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class FloatEntry:
    id: uuid.UUID
    kind: FloatEntryKind
    amount: Money
    created_at: datetime
    order_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    note: str | None = None


@dataclass(slots=True)
class FloatAccount:
    merchant_id: uuid.UUID
    currency: Currency
    invoice_cycle: InvoiceCycle
    created_at: datetime
    balance: Money
    new_entries: list[FloatEntry] = field(default_factory=list)
    # After a change of cycle: cycles that start before ``cycle_from`` keep
    # ``previous_cycle``, and ``invoice_cycle`` applies from ``cycle_from`` on.
    # Both None while the cycle never changed (or changed back before taking effect).
    previous_cycle: InvoiceCycle | None = None
    cycle_from: datetime | None = None

    def cycle_of(self, start: datetime) -> InvoiceCycle:
        """The cycle that applies to the invoice cycle starting at ``start``."""
        if (
            self.previous_cycle is not None
            and self.cycle_from is not None
            and start < self.cycle_from
        ):
            return self.previous_cycle
        return self.invoice_cycle

    def first_cycle_start(self) -> datetime:
        return first_period_start(self.created_at, self.cycle_of(self.created_at))

    def cycle_end(self, start: datetime) -> datetime:
        """The end of the invoice cycle that starts at ``start``: the next calendar
        boundary of the cycle that applies to it (never past a change of cycle)."""
        end = next_boundary(start, self.cycle_of(start))
        if self.cycle_from is not None and start < self.cycle_from:
            return min(end, self.cycle_from)
        return end

    def change_cycle(self, cycle: InvoiceCycle, open_start: datetime) -> None:
        """Use ``cycle`` from the next invoice cycle on.

        ``open_start`` is the start of the open cycle, the first one not closed; every
        earlier one must be closed (their invoices keep their periods, this account
        does not). The open cycle keeps its cycle and its end; ``cycle`` applies from
        that end on, the first cycle running to ``cycle``'s next calendar boundary.
        """
        running = self.cycle_of(open_start)
        if cycle is running:
            self.previous_cycle = self.cycle_from = None
        else:
            self.previous_cycle, self.cycle_from = running, self.cycle_end(open_start)
        self.invoice_cycle = cycle

    def top_up(self, amount: Money, now: datetime) -> FloatEntry:
        self._check(amount)
        return self._append(FloatEntryKind.TOP_UP, amount, now)

    def adjust(self, amount: Money, note: str, now: datetime) -> FloatEntry:
        """A manual correction, up or down, with the reason it was made. Like a charge, a
        correction down cannot take a prepaid float below zero."""
        if amount.currency != self.currency:
            raise CurrencyMismatch(amount.currency.code, self.currency.code)
        if amount.minor == 0:
            raise InvalidAmount("an adjustment must change the balance")
        if not note.strip():
            raise InvalidInput("say why the float is adjusted: a note is required")
        if (self.balance + amount).minor < 0:
            raise FloatInsufficient(
                f"the float holds {self.balance.minor}; an adjustment of {amount.minor} "
                f"{self.currency.code} minor units would take it below zero",
                balance=self.balance.minor,
                required=-amount.minor,
            )
        return self._append(FloatEntryKind.ADJUSTMENT, amount, now, note=note.strip())

    def charge(self, amount: Money, order_id: uuid.UUID, now: datetime) -> FloatEntry:
        """Pay for an order from the float; a prepaid float never goes below zero."""
        self._check(amount)
        if amount > self.balance:
            raise FloatInsufficient(
                f"the float holds {self.balance.minor} and the order costs {amount.minor} "
                f"{self.currency.code} minor units; top up the float first",
                balance=self.balance.minor,
                required=amount.minor,
            )
        return self._append(FloatEntryKind.ORDER_CHARGE, -amount, now, order_id=order_id)

    def credit(
        self,
        amount: Money,
        *,
        order_id: uuid.UUID,
        refund_id: uuid.UUID,
        invoice_id: uuid.UUID,
        now: datetime,
    ) -> FloatEntry:
        self._check(amount, allow_zero=True)
        return self._append(
            FloatEntryKind.CREDIT,
            amount,
            now,
            order_id=order_id,
            refund_id=refund_id,
            invoice_id=invoice_id,
        )

    def _check(self, amount: Money, *, allow_zero: bool = False) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(amount.currency.code, self.currency.code)
        if amount.minor < 0 or (amount.minor == 0 and not allow_zero):
            raise InvalidAmount("float amounts must be positive")

    def _append(
        self,
        kind: FloatEntryKind,
        amount: Money,
        now: datetime,
        *,
        order_id: uuid.UUID | None = None,
        refund_id: uuid.UUID | None = None,
        invoice_id: uuid.UUID | None = None,
        note: str | None = None,
    ) -> FloatEntry:
        entry = FloatEntry(
            uuid.uuid4(), kind, amount, now, order_id, refund_id, invoice_id, note=note
        )
        self.new_entries.append(entry)
        self.balance = self.balance + amount
        return entry


def first_period_start(opened_at: datetime, cycle: InvoiceCycle) -> datetime:
    """Cycles are aligned to UTC calendar boundaries: the day, the ISO week, the month."""
    day = opened_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cycle is InvoiceCycle.DAILY:
        return day
    if cycle is InvoiceCycle.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(start: datetime, cycle: InvoiceCycle) -> datetime:
    """The end of a cycle that starts on a calendar boundary of ``cycle``."""
    if cycle is InvoiceCycle.DAILY:
        return start + timedelta(days=1)
    if cycle is InvoiceCycle.WEEKLY:
        return start + timedelta(days=7)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def next_boundary(at: datetime, cycle: InvoiceCycle) -> datetime:
    """The first calendar boundary of ``cycle`` after ``at``."""
    return period_end(first_period_start(at, cycle), cycle)


@dataclass(frozen=True, slots=True)
class CreditedRefund:
    """A float refund: pending until a close credits it (``at``: when it was made or credited)."""

    order_id: uuid.UUID
    refund_id: uuid.UUID
    amount: Money
    at: datetime


@dataclass(frozen=True, slots=True)
class Invoice:
    """The statement of one closed cycle. closing = opening + top-ups - charges + adjustments
    + credits, all in the float's currency."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    currency: Currency
    period_start: datetime
    period_end: datetime
    opening_balance: Money
    top_ups: Money
    charges: Money  # positive: what orders cost in the period
    adjustments: Money
    credits: Money
    closed_at: datetime
    credited: tuple[CreditedRefund, ...] = ()

    @property
    def closing_balance(self) -> Money:
        return self.opening_balance + self.top_ups - self.charges + self.adjustments + self.credits
