"""The unit of work: one database transaction, the repositories that share it, one commit.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a use case
that raises half-way writes nothing. Only ``services/`` commits, and always through
``messagebus.commit``, which first runs the handlers of the events the change recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from refundry.domain.events import DomainEvent
from refundry.domain.merchant_float import (
    CreditedRefund,
    FloatAccount,
    FloatEntryKind,
    Invoice,
)
from refundry.domain.order import AuthorizationExpiryAction, Order
from refundry.domain.refund import Refund
from refundry.domain.status import OrderStatus
from refundry.services.ports.outbox import OutboxMessage
from refundry.services.ports.points import PointsRepository
from refundry.services.ports.reconciliation import ReconciliationRepository
from refundry.services.ports.staff import StaffRepository
from refundry.services.ports.webhooks import (
    WebhookEndpointRepository,
    WebhookEventRepository,
)


@dataclass(frozen=True, slots=True)
class Merchant:
    id: uuid.UUID
    name: str
    created_at: datetime
    timezone: str = "UTC"
    authorization_expiry_action: AuthorizationExpiryAction = AuthorizationExpiryAction.FLAG
    automatic_capture: bool = True  # else orders are held and captured on fulfilment


# An event with the order that recorded it: what the message bus hands its handlers.
RecordedEvent = tuple[Order, DomainEvent]


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    on_hand: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status_code: int | None
    body: str | None


class OrderRepository(Protocol):
    def get(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order: ...
    def search(
        self,
        merchant_id: uuid.UUID,
        query: str | None,
        *,
        limit: int,
        offset: int,
        status: OrderStatus | None = None,
        customer_email: str | None = None,
    ) -> list[Order]: ...
    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None: ...
    def lapsing_authorizations(
        self, before: datetime, *, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]: ...
    def find_payment_order(
        self, order_id: uuid.UUID | None, payment_reference: str | None
    ) -> tuple[uuid.UUID, uuid.UUID] | None: ...
    def find_link_order(
        self, link_id: uuid.UUID | None = None, *, token: str | None = None
    ) -> tuple[uuid.UUID, uuid.UUID] | None: ...
    def add(self, order: Order) -> None: ...
    def add_many(self, orders: Sequence[Order]) -> None: ...


class MerchantRepository(Protocol):
    def add(self, merchant: Merchant) -> None: ...
    def get(self, merchant_id: uuid.UUID) -> Merchant | None: ...
    def set_timezone(self, merchant_id: uuid.UUID, timezone: str) -> None: ...
    def set_authorization_expiry_action(
        self, merchant_id: uuid.UUID, action: AuthorizationExpiryAction
    ) -> None: ...
    def set_automatic_capture(self, merchant_id: uuid.UUID, automatic: bool) -> None: ...
    def add_api_key(
        self, merchant_id: uuid.UUID, key_id: uuid.UUID, secret_hash: str, now: datetime
    ) -> None: ...
    def api_key_owner(self, key_id: uuid.UUID) -> tuple[uuid.UUID, str] | None: ...


class StockRepository(Protocol):
    def adjust(self, merchant_id: uuid.UUID, sku: str, delta: int, now: datetime) -> None: ...
    def set(self, merchant_id: uuid.UUID, sku: str, on_hand: int, now: datetime) -> None: ...
    def list(self, merchant_id: uuid.UUID, skus: list[str] | None = None) -> list[StockLevel]: ...


class IdempotencyRepository(Protocol):
    def find(self, merchant_id: uuid.UUID, key: str) -> StoredResponse | None: ...
    def claim(self, merchant_id: uuid.UUID, key: str, fingerprint: str, now: datetime) -> bool: ...
    def complete(self, merchant_id: uuid.UUID, key: str, status_code: int, body: str) -> None: ...


class SettingsRepository(Protocol):
    def get(self, name: str) -> str | None: ...
    def put_if_absent(self, name: str, value: str) -> None: ...


class FloatRepository(Protocol):
    def get(self, merchant_id: uuid.UUID) -> FloatAccount | None: ...
    def add(self, account: FloatAccount) -> None: ...
    def merchants_with_float(self) -> list[uuid.UUID]: ...
    def pending_credits(
        self, merchant_id: uuid.UUID, created_before: datetime | None = None
    ) -> list[CreditedRefund]: ...
    def entries_total(
        self, merchant_id: uuid.UUID, kind: FloatEntryKind, start: datetime, end: datetime
    ) -> int: ...
    def add_invoice(self, invoice: Invoice) -> None: ...
    def last_invoice(self, merchant_id: uuid.UUID) -> Invoice | None: ...
    def invoices(self, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Invoice]: ...
    def invoice(self, merchant_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice | None: ...


class OutboxRepository(Protocol):
    def add(self, messages: Sequence[OutboxMessage], now: datetime) -> None: ...
    def lease_due(
        self, now: datetime, *, limit: int, lease_until: datetime
    ) -> list[OutboxMessage]: ...
    def finish(self, message: OutboxMessage, now: datetime) -> None: ...
    def fail(self, message: OutboxMessage, error: str, now: datetime) -> None: ...
    def retry(self, message: OutboxMessage, run_after: datetime, error: str | None) -> None: ...


class ProviderEventRepository(Protocol):
    def add_once(
        self,
        *,
        provider: str,
        event_id: str,
        event_type: str,
        merchant_id: uuid.UUID | None,
        order_id: uuid.UUID | None,
        payload: str,
        now: datetime,
    ) -> bool: ...


class UnitOfWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def merchants(self) -> MerchantRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def floats(self) -> FloatRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def provider_events(self) -> ProviderEventRepository: ...
    @property
    def webhook_endpoints(self) -> WebhookEndpointRepository: ...
    @property
    def webhook_events(self) -> WebhookEventRepository: ...
    @property
    def points(self) -> PointsRepository: ...
    @property
    def reconciliation(self) -> ReconciliationRepository: ...
    @property
    def staff(self) -> StaffRepository: ...

    # The Idempotency-Key of the request this work runs for, told to webhook receivers.
    idempotency_key: str | None

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def collect_new_events(self) -> list[RecordedEvent]:
        """The events recorded since the last call, each handed out once; the changes
        that recorded them are written first, as the handlers' rows refer to them."""
        ...

    def commit(self) -> None:
        """Write what is left and commit; refused while recorded events are unhandled
        (use ``messagebus.commit``, which handles them first)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...
