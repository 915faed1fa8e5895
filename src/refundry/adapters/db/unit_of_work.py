"""The SQL unit of work: one connection, one transaction, rolled back unless committed.

A write unit of work holds the change's writes until its commit or its next read
(``pending_writes``): on PostgreSQL they leave as one statement.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from refundry.adapters.db import pending_writes
from refundry.adapters.db.engine import begin, end_read
from refundry.adapters.db.float_repository import SqlFloatRepository
from refundry.adapters.db.order_repository import SqlOrderRepository
from refundry.adapters.db.outbox_repository import SqlOutboxRepository
from refundry.adapters.db.points_repository import SqlPointsRepository
from refundry.adapters.db.provider_event_repository import SqlProviderEventRepository
from refundry.adapters.db.reconciliation_repository import SqlReconciliationRepository
from refundry.adapters.db.repositories import (
    SqlIdempotencyRepository,
    SqlMerchantRepository,
    SqlSettingsRepository,
    SqlStockRepository,
)
from refundry.adapters.db.saved_view_repository import SqlSavedViewRepository
from refundry.adapters.db.staff_repository import SqlStaffRepository
from refundry.adapters.db.store_credit_repository import SqlStoreCreditRepository
from refundry.adapters.db.webhook_endpoint_repository import SqlWebhookEndpointRepository
from refundry.adapters.db.webhook_event_repository import SqlWebhookEventRepository
from refundry.domain.errors import DatabaseUnavailable
from refundry.domain.events import DomainEvent
from refundry.domain.order import Order
from refundry.services.ports.tracing import NO_TRACING, Tracing
from refundry.services.unit_of_work import CommitOutcomeUnknown


class SqlUnitOfWork:
    """``write=True`` locks what it loads: orders ``FOR UPDATE`` on PostgreSQL, the
    whole database with ``BEGIN IMMEDIATE`` on SQLite. Reads take no lock."""

    orders: SqlOrderRepository
    merchants: SqlMerchantRepository
    stock: SqlStockRepository
    idempotency: SqlIdempotencyRepository
    settings: SqlSettingsRepository
    floats: SqlFloatRepository
    outbox: SqlOutboxRepository
    provider_events: SqlProviderEventRepository
    webhook_endpoints: SqlWebhookEndpointRepository
    webhook_events: SqlWebhookEventRepository
    points: SqlPointsRepository
    store_credit: SqlStoreCreditRepository
    reconciliation: SqlReconciliationRepository
    staff: SqlStaffRepository
    saved_views: SqlSavedViewRepository

    def __init__(
        self, engine: Engine, *, write: bool = True, tracing: Tracing = NO_TRACING
    ) -> None:
        self._engine = engine
        self._write = write
        self._tracing = tracing
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self._pending: pending_writes.PendingWrites | None = None
        self.idempotency_key: str | None = None

    def __enter__(self) -> Self:
        connection, self._transaction = begin(self._engine, write=self._write)
        self._connection = connection
        if self._write:
            self._pending = pending_writes.hold(connection)
        # The last webhook sequence of each order loaded to change, read by its lock-and-load.
        webhook_sequences: dict[uuid.UUID, int] = {}
        self.orders = SqlOrderRepository(
            connection, lock_rows=self._write, webhook_sequences=webhook_sequences
        )
        self.merchants = SqlMerchantRepository(connection)
        self.stock = SqlStockRepository(connection)
        self.idempotency = SqlIdempotencyRepository(connection)
        self.settings = SqlSettingsRepository(connection)
        self.floats = SqlFloatRepository(connection, lock_rows=self._write)
        self.outbox = SqlOutboxRepository(connection, self._tracing)
        self.provider_events = SqlProviderEventRepository(connection)
        self.webhook_endpoints = SqlWebhookEndpointRepository(connection, lock_rows=self._write)
        self.webhook_events = SqlWebhookEventRepository(connection, webhook_sequences)
        self.points = SqlPointsRepository(connection, lock_rows=self._write)
        self.store_credit = SqlStoreCreditRepository(connection, lock_rows=self._write)
        self.reconciliation = SqlReconciliationRepository(connection)
        self.staff = SqlStaffRepository(connection)
        self.saved_views = SqlSavedViewRepository(connection, lock_rows=self._write)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        assert self._transaction is not None
        try:
            if self._transaction.is_active and self._write:
                self._transaction.rollback()  # never committed: nothing of it is kept
            elif self._transaction.is_active:
                end_read(self._transaction, failed=exc_type is not None)
        finally:
            self._connection.close()
            self._connection = None
            self._transaction = None
            self._pending = None

    def collect_new_events(self) -> list[tuple[Order, DomainEvent]]:
        self._write_changes()
        return self.orders.drain_events()

    def commit(self) -> None:
        """Persist and commit, nothing else: what the change's events cause is the
        message bus's work, done before this (``services.messagebus.commit``)."""
        assert self._transaction is not None
        self._write_changes()
        if self.orders.has_recorded_events():
            # Committing now would lose them (an outbox message, a webhook, a points entry).
            raise RuntimeError("events were recorded but not handled; commit through the bus")
        self.stock.flush()  # last: a popular SKU's row is locked until the commit
        if self._pending is not None:
            assert self._connection is not None
            self._pending.send(self._connection)
        try:
            self._transaction.commit()
        except DatabaseUnavailable as error:
            # The COMMIT was sent, or not: only the server knows whether it took effect.
            raise CommitOutcomeUnknown(COMMIT_OUTCOME_UNKNOWN) from error.__cause__

    def _write_changes(self) -> None:
        self.orders.persist()
        self.floats.persist()
        self.store_credit.persist()


COMMIT_OUTCOME_UNKNOWN = (
    "the connection to the database was lost while the change was being committed, so it "
    "may have been made: send the request again only with the same Idempotency-Key, or "
    "read the resource first"
)


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine, tracing: Tracing = NO_TRACING) -> None:
        self.engine = engine
        self.tracing = tracing  # outbox messages keep the trace of the change that wrote them

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, tracing=self.tracing)
