"""The SQL read model: one read transaction for reports, lookups and ``refundry verify``,
on the primary's engine or on a replica's (``bootstrap``: the reads that may lag).

It locks nothing (no ``FOR UPDATE``, no SQLite write lock) and has no commit to call;
its transaction is READ ONLY on PostgreSQL (so ending it with a commit there keeps the
connection's prepared statements) and rolled back on SQLite, so nothing read here can be
written by mistake (``engine.end_read``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from refundry.adapters.db.customer_queries import SqlCustomerQueries
from refundry.adapters.db.engine import begin, end_read
from refundry.adapters.db.float_repository import SqlFloatRepository
from refundry.adapters.db.ledger_queries import SqlLedgerQueries
from refundry.adapters.db.operations_queries import SqlOperationsQueries
from refundry.adapters.db.order_repository import SqlOrderRepository
from refundry.adapters.db.points_repository import SqlPointsRepository
from refundry.adapters.db.reconciliation_repository import SqlReconciliationRepository
from refundry.adapters.db.replication import SqlReplicationQueries
from refundry.adapters.db.report_queries import SqlReportQueries
from refundry.adapters.db.repositories import SqlMerchantRepository, SqlStockRepository
from refundry.adapters.db.saved_view_repository import SqlSavedViewRepository
from refundry.adapters.db.store_credit_repository import SqlStoreCreditRepository


class SqlReadModel:
    orders: SqlOrderRepository
    stock: SqlStockRepository
    reconciliation: SqlReconciliationRepository
    points: SqlPointsRepository
    store_credit: SqlStoreCreditRepository
    merchants: SqlMerchantRepository
    floats: SqlFloatRepository
    reports: SqlReportQueries
    customers: SqlCustomerQueries
    ledger: SqlLedgerQueries
    replication: SqlReplicationQueries
    operations: SqlOperationsQueries
    saved_views: SqlSavedViewRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None

    def __enter__(self) -> Self:
        connection, self._transaction = begin(self._engine, write=False)
        self._connection = connection
        self.orders = SqlOrderRepository(connection, lock_rows=False)
        self.stock = SqlStockRepository(connection)
        self.reconciliation = SqlReconciliationRepository(connection)
        self.points = SqlPointsRepository(connection, lock_rows=False)
        self.store_credit = SqlStoreCreditRepository(connection, lock_rows=False)
        self.merchants = SqlMerchantRepository(connection)
        self.floats = SqlFloatRepository(connection, lock_rows=False)
        self.reports = SqlReportQueries(connection)
        self.customers = SqlCustomerQueries(connection)
        self.ledger = SqlLedgerQueries(connection)
        self.replication = SqlReplicationQueries(connection)
        self.operations = SqlOperationsQueries(connection)
        self.saved_views = SqlSavedViewRepository(connection, lock_rows=False)
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
            if self._transaction.is_active:
                end_read(self._transaction, failed=exc_type is not None)
        finally:
            self._connection.close()
            self._connection = None
            self._transaction = None


class SqlReadModelFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> SqlReadModel:
        return SqlReadModel(self.engine)
