"""The read side: what reports, order and refund lookups, stock levels, discrepancy lists
and ``refundry verify`` read through, outside the write unit of work.

A read model is one read transaction: it locks nothing, writes nothing and cannot
commit, so a report can never hold up a refund, and a replica can serve it. There are two
factories (``bootstrap.Container``): ``read_models`` reads the primary, for every read a
client may make right after its own write (an order, a refund, an API list);
``lagging_reads`` reads the replica when one is configured, for reads that may lag a
moment behind (reports, CSV exports, dashboard lists, ``refundry verify``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from refundry.domain.merchant import Merchant
from refundry.domain.merchant_float import Invoice
from refundry.domain.points import PointsEntry
from refundry.domain.reconciliation import Discrepancy
from refundry.domain.reporting import (
    CustomerRow,
    Granularity,
    ItemRow,
    ReasonRow,
    RefundFilters,
    RefundReportRow,
    ReportRange,
    SummaryRow,
)
from refundry.services.ports.ledger import LedgerQueries
from refundry.services.ports.operations import OperationsReads
from refundry.services.ports.repositories import OrderReads, StockLevel
from refundry.services.ports.saved_views import SavedViewReads
from refundry.services.ports.store_credit import StoreCreditReads


class ReportQueries(Protocol):
    def summary(
        self, merchant_id: uuid.UUID, span: ReportRange, granularity: Granularity
    ) -> list[SummaryRow]: ...
    def items(self, merchant_id: uuid.UUID, span: ReportRange) -> list[ItemRow]: ...
    def reasons(self, merchant_id: uuid.UUID, span: ReportRange) -> list[ReasonRow]: ...
    def refunds_count(
        self, merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters
    ) -> int: ...
    def refunds_page(
        self,
        merchant_id: uuid.UUID,
        span: ReportRange,
        filters: RefundFilters,
        *,
        sort: str,
        limit: int,
        offset: int,
    ) -> list[RefundReportRow]: ...
    def refunds_stream(
        self, merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters, *, sort: str
    ) -> Iterator[RefundReportRow]: ...


class CustomerReads(Protocol):
    def customers_page(
        self,
        merchant_id: uuid.UUID,
        query: str | None,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[CustomerRow]: ...
    def customers_count(self, merchant_id: uuid.UUID, query: str | None) -> int: ...


class StockReads(Protocol):
    def list(self, merchant_id: uuid.UUID, skus: list[str] | None = None) -> list[StockLevel]: ...


class DiscrepancyReads(Protocol):
    def discrepancies(
        self,
        merchant_id: uuid.UUID,
        *,
        include_resolved: bool,
        after: tuple[datetime, str, str] | None,
        limit: int,
    ) -> list[Discrepancy]: ...


class PointsReads(Protocol):
    def balance(self, merchant_id: uuid.UUID, customer: str) -> int: ...
    def entries(self, merchant_id: uuid.UUID, customer: str, limit: int) -> list[PointsEntry]: ...


class MerchantReads(Protocol):
    def get(self, merchant_id: uuid.UUID) -> Merchant | None: ...


class InvoiceReads(Protocol):
    def invoices(self, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Invoice]: ...


class ReplicationReads(Protocol):
    def lag_seconds(self) -> float | None: ...


class ReadModel(Protocol):
    @property
    def orders(self) -> OrderReads: ...
    @property
    def stock(self) -> StockReads: ...
    @property
    def reconciliation(self) -> DiscrepancyReads: ...
    @property
    def points(self) -> PointsReads: ...
    @property
    def store_credit(self) -> StoreCreditReads: ...
    @property
    def merchants(self) -> MerchantReads: ...
    @property
    def floats(self) -> InvoiceReads: ...
    @property
    def reports(self) -> ReportQueries: ...
    @property
    def customers(self) -> CustomerReads: ...
    @property
    def ledger(self) -> LedgerQueries: ...
    @property
    def replication(self) -> ReplicationReads: ...
    @property
    def operations(self) -> OperationsReads: ...
    @property
    def saved_views(self) -> SavedViewReads: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ReadModelFactory(Protocol):
    def __call__(self) -> ReadModel: ...
