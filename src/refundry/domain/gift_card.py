"""Gift-card links: one per unit of a ``gift_card_link`` line, opened by a consumer.

Link states:

- ``issued``: created with the order; nobody has opened it.
- ``accessed``: the consumer opened it (the first click is recorded with its time).
- ``spent``: some or all of its value was used.
- ``expired``: past its expiry without being cancelled.
- ``cancelled``: stopped by the merchant before anyone opened it; dead for good.

A link can be cancelled only while it is issued: not accessed, not expired and
unspent. The rule lives in ``cancellation_blocker`` so the support lookup shows
exactly what the cancel would check.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import (
    InvalidAmount,
    LinkAccessed,
    LinkAlreadyCancelled,
    LinkExpired,
    LinkSpent,
    LinkUnusable,
)
from refundry.domain.money import Money


class LinkState(StrEnum):
    ISSUED = "issued"
    ACCESSED = "accessed"
    SPENT = "spent"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(slots=True)
class GiftCardLink:
    id: uuid.UUID
    order_line_id: uuid.UUID
    token: str
    value: Money
    expires_at: datetime
    created_at: datetime
    accessed_at: datetime | None = None
    spent: Money | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None  # who cancelled it, as the ledger names actors

    @classmethod
    def issue(
        cls, order_line_id: uuid.UUID, value: Money, expires_at: datetime, now: datetime
    ) -> GiftCardLink:
        # 192 random bits: unguessable, and short enough for a URL in an e-mail.
        return cls(
            id=uuid.uuid4(),
            order_line_id=order_line_id,
            token=secrets.token_urlsafe(24),
            value=value,
            expires_at=expires_at,
            created_at=now,
        )

    @property
    def spent_amount(self) -> Money:
        return self.spent if self.spent is not None else Money.zero(self.value.currency)

    @property
    def balance(self) -> Money:
        return self.value - self.spent_amount

    def state(self, now: datetime) -> LinkState:
        if self.cancelled_at is not None:
            return LinkState.CANCELLED
        if self.spent_amount.minor > 0:
            return LinkState.SPENT
        if now >= self.expires_at:
            return LinkState.EXPIRED
        if self.accessed_at is not None:
            return LinkState.ACCESSED
        return LinkState.ISSUED

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def cancellation_blocker(self, now: datetime) -> LinkUnusable | None:
        """The reason this link cannot be cancelled now, or ``None`` if it can."""
        if self.cancelled_at is not None:
            return LinkAlreadyCancelled(
                f"link {self.id} is already cancelled", link_id=str(self.id)
            )
        if self.spent_amount.minor > 0:
            return LinkSpent(
                f"link {self.id} has spent value",
                link_id=str(self.id),
                spent=self.spent_amount.minor,
            )
        if self.accessed_at is not None:
            return LinkAccessed(
                f"link {self.id} was opened by the consumer at {self.accessed_at.isoformat()}",
                link_id=str(self.id),
                accessed_at=self.accessed_at.isoformat(),
            )
        if self.is_expired(now):
            return LinkExpired(
                f"link {self.id} expired at {self.expires_at.isoformat()}",
                link_id=str(self.id),
                expires_at=self.expires_at.isoformat(),
            )
        return None

    def cancel(self, reason: str | None, now: datetime, *, by: str) -> None:
        blocker = self.cancellation_blocker(now)
        if blocker is not None:
            raise blocker
        self.cancelled_at = now
        self.cancel_reason = reason
        self.cancelled_by = by

    def open(self, now: datetime) -> None:
        """The consumer's click. The first one is recorded; a dead link refuses."""
        if self.cancelled_at is not None:
            raise LinkAlreadyCancelled("this gift card was cancelled", link_id=str(self.id))
        if self.is_expired(now):
            raise LinkExpired("this gift card has expired", link_id=str(self.id))
        if self.accessed_at is None:
            self.accessed_at = now

    def spend(self, amount: Money, now: datetime) -> None:
        if amount.minor <= 0:
            raise InvalidAmount("a spend must be positive")
        self.open(now)  # spending needs a live link, and it means the link was opened
        if amount > self.balance:
            raise InvalidAmount(
                f"spend of {amount.minor} exceeds the link's balance of {self.balance.minor}",
                balance=self.balance.minor,
            )
        self.spent = self.spent_amount + amount
