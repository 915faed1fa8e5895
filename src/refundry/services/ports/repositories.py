"""The repositories the write unit of work carries for orders, merchants, stock, keys,
settings, the float and provider events (the other areas' are beside this module)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from refundry.domain.merchant import Merchant
from refundry.domain.merchant_float import (
    CreditedRefund,
    FloatAccount,
    FloatEntryKind,
    Invoice,
)
from refundry.domain.order import AuthorizationExpiryAction, Order
from refundry.domain.refund import Refund
from refundry.domain.returns import AfterSales, OrderReturn, ReturnStatus
from refundry.domain.status import OrderStatus


class OrderSort(StrEnum):
    """The orders of a list page by page (keyset: a page never skips or repeats one as
    new orders come): by when they were placed or by their total, in minor units."""

    NEWEST = "newest"
    OLDEST = "oldest"
    HIGHEST_TOTAL = "total-desc"
    LOWEST_TOTAL = "total-asc"

    @property
    def is_by_total(self) -> bool:
        return self in (OrderSort.HIGHEST_TOTAL, OrderSort.LOWEST_TOTAL)

    def place_of(self, order: Order) -> tuple[datetime | int, uuid.UUID]:
        """An order's place in this sort: what a cursor carries."""
        return (order.total.minor if self.is_by_total else order.created_at), order.id


class ReturnSort(StrEnum):
    """Sales > Returns page by page (keyset, as orders): by when a return or cancellation
    was made, or by the amount it refunded (a return not refunded yet counts as 0)."""

    NEWEST = "newest"
    OLDEST = "oldest"
    HIGHEST_AMOUNT = "amount-desc"
    LOWEST_AMOUNT = "amount-asc"

    @property
    def is_by_amount(self) -> bool:
        return self in (ReturnSort.HIGHEST_AMOUNT, ReturnSort.LOWEST_AMOUNT)

    def place_of(
        self, order: Order, record: OrderReturn | Refund
    ) -> tuple[datetime | int, uuid.UUID]:
        """A record's place in this sort: what a cursor carries."""
        if not self.is_by_amount:
            return record.created_at, record.id
        if isinstance(record, Refund):
            return record.amount.minor, record.id
        refund_id = record.refund_id
        return (0 if refund_id is None else order.refund_by_id(refund_id).amount.minor), record.id


@dataclass(frozen=True, slots=True)
class AfterSalesCounts:
    """How many records a search of Sales > Returns finds: returns by status (a status
    with none left out) and the refunds cancellations made."""

    returns: dict[ReturnStatus, int] = field(default_factory=dict)
    cancellations: int = 0

    def total(self, status: ReturnStatus | None, records: AfterSales) -> int:
        """How many the list shows: of one return status, or of ``records``' kinds."""
        if status is not None:
            return self.returns.get(status, 0)
        every_return = sum(self.returns.values())
        if records is AfterSales.RETURNS:
            return every_return
        if records is AfterSales.CANCELLATIONS:
            return self.cancellations
        return every_return + self.cancellations


@dataclass(frozen=True, slots=True)
class StockLevel:
    sku: str
    on_hand: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status_code: int | None
    body: str | None


class OrderReads(Protocol):
    """What the read side reads of orders; the write repository reads the same, locked."""

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
    def orders_page(
        self,
        merchant_id: uuid.UUID,
        *,
        query: str | None,
        status: OrderStatus | None,
        sort: OrderSort,
        after: tuple[datetime | int, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]: ...
    def status_counts(
        self, merchant_id: uuid.UUID, query: str | None
    ) -> dict[OrderStatus, int]: ...
    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None: ...
    def find_return(
        self, merchant_id: uuid.UUID, return_id: uuid.UUID
    ) -> tuple[Order, OrderReturn] | None: ...
    def returns_page(
        self,
        merchant_id: uuid.UUID,
        *,
        status: ReturnStatus | None = None,
        query: str | None = None,
        after: tuple[datetime | int, uuid.UUID] | None = None,
        limit: int,
        records: AfterSales = AfterSales.RETURNS,
        sort: ReturnSort = ReturnSort.NEWEST,
    ) -> list[tuple[Order, OrderReturn | Refund]]: ...
    def after_sales_counts(self, merchant_id: uuid.UUID, query: str | None) -> AfterSalesCounts: ...


class OrderRepository(OrderReads, Protocol):
    def get_many(self, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, Order]:
        """Orders by (merchant id, order id), by order id; the ones not found left out.
        Locked, where ``get`` locks, in order id order."""
        ...

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
    def set_cancel_labels(self, merchant_id: uuid.UUID, labels: tuple[str, ...]) -> None: ...
    def set_store_credit_validity(self, merchant_id: uuid.UUID, days: int | None) -> None: ...
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
