"""Store credit: value a merchant owes a customer, spendable at its checkout.

One account per customer and currency (the customer keyed as points are: the checkout's
customer id, else the case-folded email). The account is a ledger: its balance is the sum
of its entries, and nothing else is kept beside them.

Entry kinds (``amount`` is signed, minor units of the account's currency):

- ``issued``: credit a refund gave back as store credit (+), once per refund.
- ``spent``: a checkout paid part or all of an order with it (-).
- ``expired``: credit whose validity ended unspent (-).
- ``adjusted``: a support agent's grant (+) or correction (-), with a note.

Every credit (``issued``, or ``adjusted`` upwards) is a *lot* with its own expiry, or
none. What takes credit away (spent, expired, adjusted downwards) takes it from the lots
that expire first (those that never expire last, then oldest first), so a customer never
loses credit to expiry that a spend could have used. An ``expired`` entry takes exactly
the remainders of the lots whose expiry has passed, which are the first in that order:
the same one rule replays every entry, and ``replay`` is how balances, what is available
now and ``refundry verify`` see the ledger.

The balance never goes negative: a spend or a correction takes at most what is available
(unexpired) now, after the lots that expired were written off; issuing and expiring only
add and write off what is there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from refundry.domain.errors import InvalidInput, StoreCreditInsufficient
from refundry.domain.money import Currency, Money

# A merchant's validity is at most this many days (about 27 years): a date past it is
# as good as never, and keeps every expiry inside what the database can hold.
MAX_VALIDITY_DAYS = 10_000
MAX_NOTE_LENGTH = 500


class StoreCreditEntryKind(StrEnum):
    ISSUED = "issued"
    SPENT = "spent"
    EXPIRED = "expired"
    ADJUSTED = "adjusted"


@dataclass(frozen=True, slots=True)
class StoreCreditEntry:
    id: uuid.UUID
    kind: StoreCreditEntryKind
    amount: int  # signed: what the entry does to the balance
    sequence: int  # the account's entries count 1, 2, 3...: the order ``replay`` reads
    created_at: datetime
    expires_at: datetime | None = None  # a credit's expiry (None: never)
    order_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    note: str | None = None


@dataclass(slots=True)
class Lot:
    """One credit and what is left of it."""

    entry_id: uuid.UUID
    sequence: int
    expires_at: datetime | None
    remaining: int

    def is_expired(self, as_of: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= as_of


@dataclass(frozen=True, slots=True)
class Replay:
    lots: tuple[Lot, ...]  # every credit in the order issued, with its remainder
    overdrawn: int  # taken beyond what the lots held (0 in any sound ledger)
    lowest_balance: int  # the lowest running balance (never below 0 in a sound ledger)

    def expiring(self, as_of: datetime) -> int:
        """Credit left in lots whose expiry has passed by ``as_of``."""
        return sum(lot.remaining for lot in self.lots if lot.is_expired(as_of))

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots) - self.overdrawn

    @property
    def next_expiry(self) -> datetime | None:
        """When the earliest credit still unspent expires (``None``: none will)."""
        return min(
            (lot.expires_at for lot in self.lots if lot.remaining and lot.expires_at),
            default=None,
        )


def _spending_order(lot: Lot) -> tuple[bool, datetime | None, int]:
    # Earliest expiry first, the credit that never expires last, then the oldest.
    return (lot.expires_at is None, lot.expires_at, lot.sequence)


def replay(entries: Iterable[StoreCreditEntry]) -> Replay:
    """Read the ledger in sequence order: each credit a lot, each debit taken from the lots
    that expire first."""
    lots: list[Lot] = []
    overdrawn = running = lowest = 0
    for entry in sorted(entries, key=lambda each: each.sequence):
        running += entry.amount
        lowest = min(lowest, running)
        if entry.amount > 0:
            lots.append(Lot(entry.id, entry.sequence, entry.expires_at, entry.amount))
            continue
        owed = -entry.amount
        for lot in sorted(lots, key=_spending_order):
            taken = min(owed, lot.remaining)
            lot.remaining -= taken
            owed -= taken
            if owed == 0:
                break
        overdrawn += owed
    return Replay(tuple(lots), overdrawn, lowest)


def balance(entries: Iterable[StoreCreditEntry]) -> int:
    return sum(entry.amount for entry in entries)


def available(entries: Sequence[StoreCreditEntry], as_of: datetime) -> int:
    """What the customer can spend at ``as_of``: the balance less the credit whose expiry
    has passed, whether or not its ``expired`` entry has been written yet."""
    return max(balance(entries) - replay(entries).expiring(as_of), 0)


def expires_at(now: datetime, validity_days: int | None) -> datetime | None:
    return None if validity_days is None else now + timedelta(days=validity_days)


def checked_validity_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_VALIDITY_DAYS:
        raise InvalidInput(
            f"store_credit_validity_days must be from 1 to {MAX_VALIDITY_DAYS}, or null (never)"
        )
    return days


@dataclass(slots=True)
class StoreCreditAccount:
    """A customer's store credit in one currency: its ledger, loaded under the account's
    row lock, and the entries this change adds (written by the repository)."""

    id: uuid.UUID  # the account's stream: its webhook events count 1, 2, 3... under it
    merchant_id: uuid.UUID
    customer: str
    currency: Currency
    entries: list[StoreCreditEntry] = field(default_factory=list)
    new_entries: list[StoreCreditEntry] = field(default_factory=list)

    @property
    def balance(self) -> Money:
        return Money(balance(self.entries), self.currency)

    def available(self, as_of: datetime) -> Money:
        return Money(available(self.entries, as_of), self.currency)

    def expire(self, now: datetime) -> StoreCreditEntry | None:
        """Write off the credit whose expiry has passed; ``None`` when there is none."""
        due = replay(self.entries).expiring(now)
        if due <= 0:
            return None
        return self._add(StoreCreditEntryKind.EXPIRED, -due, now, note="validity ended")

    def issue(
        self,
        amount: Money,
        now: datetime,
        *,
        validity_days: int | None,
        order_id: uuid.UUID | None,
        refund_id: uuid.UUID | None,
    ) -> StoreCreditEntry | None:
        """Credit a refund gave back; a refund is credited once (``None`` the second time)."""
        self._same_currency(amount)
        if amount.minor <= 0:
            raise InvalidInput("store credit issued must be positive")
        if refund_id is not None and any(entry.refund_id == refund_id for entry in self.entries):
            return None
        self.expire(now)
        return self._add(
            StoreCreditEntryKind.ISSUED,
            amount.minor,
            now,
            expires=expires_at(now, validity_days),
            order_id=order_id,
            refund_id=refund_id,
        )

    def spend(self, amount: Money, now: datetime, *, order_id: uuid.UUID) -> StoreCreditEntry:
        """Pay ``amount`` of an order; refused beyond what is available now."""
        self._same_currency(amount)
        if amount.minor <= 0:
            raise InvalidInput("store credit spent must be positive")
        self.expire(now)
        self._check_available(amount.minor, now, "the order spends")
        return self._add(StoreCreditEntryKind.SPENT, -amount.minor, now, order_id=order_id)

    def adjust(
        self, amount: Money, now: datetime, *, note: str, validity_days: int | None
    ) -> StoreCreditEntry:
        """A person's grant (positive, expiring as issued credit does) or correction
        (negative, never below zero)."""
        self._same_currency(amount)
        note = note.strip()
        if not note or len(note) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"an adjustment needs a note of 1 to {MAX_NOTE_LENGTH} characters")
        if amount.minor == 0:
            raise InvalidInput("an adjustment must not be zero")
        self.expire(now)
        if amount.minor < 0:
            self._check_available(-amount.minor, now, "the correction takes")
            expiry = None
        else:
            expiry = expires_at(now, validity_days)
        return self._add(
            StoreCreditEntryKind.ADJUSTED, amount.minor, now, expires=expiry, note=note
        )

    def _check_available(self, wanted: int, now: datetime, what: str) -> None:
        have = available(self.entries, now)
        if wanted > have:
            raise StoreCreditInsufficient(
                f"the customer has {have} {self.currency.code} minor units of store credit; "
                f"{what} {wanted}",
                balance=have,
                requested=wanted,
                currency=self.currency.code,
            )

    def _same_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise InvalidInput(
                f"this store credit account is in {self.currency.code}, not {amount.currency.code}"
            )

    def _add(
        self,
        kind: StoreCreditEntryKind,
        amount: int,
        now: datetime,
        *,
        expires: datetime | None = None,
        order_id: uuid.UUID | None = None,
        refund_id: uuid.UUID | None = None,
        note: str | None = None,
    ) -> StoreCreditEntry:
        last = max((entry.sequence for entry in self.entries), default=0)
        entry = StoreCreditEntry(
            id=uuid.uuid4(),
            kind=kind,
            amount=amount,
            sequence=last + 1,
            created_at=now,
            expires_at=expires,
            order_id=order_id,
            refund_id=refund_id,
            note=note,
        )
        self.entries.append(entry)
        self.new_entries.append(entry)
        return entry
