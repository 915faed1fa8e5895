"""The read side: what reports, the dashboard's report pages and ``refundry verify`` read
through, outside the write unit of work.

A read model is one read transaction: it locks nothing, writes nothing and cannot
commit, so a report can never hold up a refund, and a replica could serve it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, Self

from refundry.domain.merchant import Merchant
from refundry.domain.merchant_float import Invoice
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
    def customers(
        self, merchant_id: uuid.UUID, query: str | None, *, limit: int
    ) -> list[CustomerRow]: ...


class MerchantReads(Protocol):
    def get(self, merchant_id: uuid.UUID) -> Merchant | None: ...


class InvoiceReads(Protocol):
    def invoices(self, merchant_id: uuid.UUID, *, limit: int = 100) -> list[Invoice]: ...


class ReadModel(Protocol):
    @property
    def merchants(self) -> MerchantReads: ...
    @property
    def floats(self) -> InvoiceReads: ...
    @property
    def reports(self) -> ReportQueries: ...
    @property
    def ledger(self) -> LedgerQueries: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ReadModelFactory(Protocol):
    def __call__(self) -> ReadModel: ...
