"""The fakes' "database": committed state only, as plain containers of domain objects.

Each ``InMemoryStore`` field stands for a table (or a few); the row types here are what
a table holds where the domain object alone would not say it (a float account's cycle,
an outbox message's place in the queue, a deleted endpoint kept for its past deliveries).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime

from refundry.domain.merchant import Merchant
from refundry.domain.merchant_float import FloatEntry, Invoice, InvoiceCycle
from refundry.domain.money import Currency
from refundry.domain.order import Order
from refundry.domain.points import PointsEntry, PointsProgram
from refundry.domain.saved_views import SavedView
from refundry.domain.store_credit import StoreCreditEntry
from refundry.domain.webhooks import Delivery, DeliveryAttempt, WebhookEndpoint, WebhookEvent
from refundry.services.ports.outbox import MessageState, OutboxMessage
from refundry.services.ports.repositories import StoredResponse


@dataclass(frozen=True, slots=True)
class FloatAccountRow:
    """What ``float_accounts`` holds: the balance is summed from the entries on load."""

    merchant_id: uuid.UUID
    currency: Currency
    invoice_cycle: InvoiceCycle
    created_at: datetime
    previous_cycle: InvoiceCycle | None
    cycle_from: datetime | None


@dataclass(slots=True)
class QueuedMessage:
    """An outbox row: the message and where it stands in the worker's queue."""

    message: OutboxMessage
    state: MessageState
    run_after: datetime
    attempts: int = 0
    leased_until: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None


@dataclass(slots=True)
class StoredEndpoint:
    endpoint: WebhookEndpoint
    deleted_at: datetime | None = None  # the row stays, so past deliveries can name it


@dataclass(frozen=True, slots=True)
class StoredPointsEntry:
    merchant_id: uuid.UUID
    customer: str
    entry: PointsEntry


@dataclass(slots=True)
class StoreCreditAccountRow:
    id: uuid.UUID
    created_at: datetime
    next_expiry_at: datetime | None = None


@dataclass
class InMemoryStore:
    """Everything the fakes keep, committed state only: the fake's database."""

    orders: dict[uuid.UUID, Order] = field(default_factory=dict)
    merchants: dict[uuid.UUID, Merchant] = field(default_factory=dict)
    api_keys: dict[uuid.UUID, tuple[uuid.UUID, str]] = field(default_factory=dict)
    stock: dict[tuple[uuid.UUID, str], int] = field(default_factory=dict)
    idempotency: dict[tuple[uuid.UUID, str], StoredResponse] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    float_accounts: dict[uuid.UUID, FloatAccountRow] = field(default_factory=dict)
    float_entries: list[tuple[uuid.UUID, FloatEntry]] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)  # ``credited`` is read from entries
    outbox: list[QueuedMessage] = field(default_factory=list)
    provider_events: set[tuple[str, str]] = field(default_factory=set)
    points_programs: dict[uuid.UUID, PointsProgram] = field(default_factory=dict)
    points_accounts: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    points_entries: list[StoredPointsEntry] = field(default_factory=list)
    # (merchant id, customer, currency code) -> the account's row, and its entries
    store_credit_accounts: dict[tuple[uuid.UUID, str, str], StoreCreditAccountRow] = field(
        default_factory=dict
    )
    store_credit_entries: dict[tuple[uuid.UUID, str, str], list[StoreCreditEntry]] = field(
        default_factory=dict
    )
    webhook_endpoints: dict[uuid.UUID, StoredEndpoint] = field(default_factory=dict)
    webhook_events: list[WebhookEvent] = field(default_factory=list)
    webhook_deliveries: list[Delivery] = field(default_factory=list)
    webhook_attempts: dict[uuid.UUID, list[DeliveryAttempt]] = field(default_factory=dict)
    saved_views: list[SavedView] = field(default_factory=list)  # oldest first
    commits: int = 0  # how many units of work committed into this store

    def replace_with(self, other: InMemoryStore) -> None:
        """Take ``other``'s contents in place, so every holder of this store sees them."""
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(other, name))

    # Read-outs for tests: what the worker and the webhook sender would find.
    def on_hand(self, merchant_id: uuid.UUID, sku: str) -> int:
        return self.stock.get((merchant_id, sku), 0)

    def outbox_messages(self) -> list[OutboxMessage]:
        return [queued.message for queued in self.outbox]

    def store_credit_balance(self, merchant_id: uuid.UUID, customer: str, code: str) -> int:
        return sum(
            entry.amount
            for entry in self.store_credit_entries.get((merchant_id, customer, code), [])
        )

    def points_balance(self, merchant_id: uuid.UUID, customer: str) -> int:
        return sum(
            stored.entry.points
            for stored in self.points_entries
            if (stored.merchant_id, stored.customer) == (merchant_id, customer)
        )
