"""The payment provider port: what Refundry asks of a card gateway or BNPL provider.

Every call names an idempotency key the provider keeps, so calling again after a crash
or a timeout replays the first outcome instead of moving money twice. Adapters raise
``ProviderUnavailable`` for anything worth retrying (timeouts, 5xx, connection refused,
rate limits) and ``ProviderRejected`` when the provider said no for good.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from refundry.domain.money import Money


class ProviderRefundState(StrEnum):
    PROCESSING = "processing"  # accepted, not settled
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """A refund as the provider sees it."""

    reference: str | None  # None only when the provider refused before naming the refund
    state: ProviderRefundState
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderRefundEvent:
    """What an inbound provider event says about one refund."""

    event_id: str  # the provider's id for the event: stored once, so replays do nothing
    refund: ProviderRefund
    amount: int  # minor units of ``currency_code``
    currency_code: str
    refundry_refund_id: uuid.UUID | None  # set when the refund is one Refundry asked for
    refundry_order_id: uuid.UUID | None
    payment_reference: str | None  # the payment it refunds, at the provider


@dataclass(frozen=True, slots=True)
class RefundInstruction:
    refund_id: uuid.UUID  # also the idempotency key at the provider
    order_id: uuid.UUID
    payment_reference: str | None  # the provider's id of the payment being refunded
    amount: Money
    reason: str | None


@dataclass(frozen=True, slots=True)
class Authorization:
    reference: str
    amount: Money
    expires_at: datetime | None


class PaymentProvider(Protocol):
    """One payment provider (a card gateway, a BNPL provider)."""

    @property
    def name(self) -> str: ...

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization: ...

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None: ...

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None: ...

    def refund(self, instruction: RefundInstruction) -> ProviderRefund: ...

    def fetch_refund(self, reference: str) -> ProviderRefund: ...


class ProviderEventReader(Protocol):
    """Checks an inbound event's signature and reads it."""

    def read(
        self, body: bytes, signature: str | None
    ) -> tuple[str, str, ProviderRefundEvent | None]: ...
