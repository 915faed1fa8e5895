"""``refundry verify``: recompute every stored figure from the ledgers and report drift.

Read-only. Each merchant is checked inside one read transaction, a consistent snapshot
(REPEATABLE READ on PostgreSQL, SQLite's read transaction), so a verify beside a
running server compares figures of one moment. Orders are read in keyset batches,
each loaded by the same code the use cases load with, so memory stays flat at a
million orders.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from refundry.domain.ledger_check import (
    Drift,
    ReportTotals,
    float_drifts,
    order_drifts,
    report_drifts,
)
from refundry.domain.reporting import MAX_REPORT_DAYS, Granularity, SummaryRow, merchant_zone
from refundry.domain.return_check import ReturnExpected
from refundry.domain.stop_check import stop_refund_drifts
from refundry.domain.store_credit_check import StoreCreditExpected, store_credit_drifts
from refundry.services.ports.read_model import ReadModel, ReadModelFactory
from refundry.services.views.reports import merchant_range

BATCH_SIZE = 1000
KEPT_DRIFTS = 10_000  # counted beyond that, not kept: a broken import can drift everywhere


@dataclass(slots=True)
class VerifyOutcome:
    merchants: int = 0
    orders: int = 0
    refunds: int = 0
    drift_count: int = 0
    drifts: list[Drift] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.drift_count == 0

    def add(self, drifts: list[Drift]) -> None:
        self.drift_count += len(drifts)
        room = KEPT_DRIFTS - len(self.drifts)
        self.drifts.extend(drifts[: max(room, 0)])


def verify(
    read_models: ReadModelFactory,
    merchant_id: uuid.UUID | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> VerifyOutcome:
    """Check one merchant, or all; ``progress`` is told how many orders each batch held."""
    outcome = VerifyOutcome()
    if merchant_id is None:
        with read_models() as read:
            merchants = read.ledger.merchant_ids()
    else:
        merchants = [merchant_id]
    for merchant in merchants:
        with read_models() as read:
            read.ledger.snapshot()
            _verify_merchant(read, merchant, outcome, batch_size, progress)
        outcome.merchants += 1
    return outcome


def _verify_merchant(
    read: ReadModel,
    merchant_id: uuid.UUID,
    outcome: VerifyOutcome,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> None:
    totals = ReportTotals()
    store_credit = StoreCreditExpected()
    returns = ReturnExpected(merchant_id)
    after: tuple[datetime, uuid.UUID] | None = None
    while batch := read.ledger.order_batch(merchant_id, after, batch_size):
        for checked in batch:
            order = checked.order
            outcome.add(
                order_drifts(order, checked.stored, checked.points, checked.refunds_in_flight)
            )
            totals.add(order)
            store_credit.add(order)
            returns.add(order)
            outcome.add(stop_refund_drifts(order))
            outcome.orders += 1
            outcome.refunds += len(order.refunds)
        after = (batch[-1].order.created_at, batch[-1].order.id)
        if progress is not None:
            progress(len(batch))
    float_ledger = read.ledger.float_ledger(merchant_id)
    if float_ledger is not None:
        invoices = read.floats.invoices(merchant_id, limit=1_000_000)
        outcome.add(float_drifts(merchant_id, float_ledger, invoices))
    accounts = read.store_credit.merchant_accounts(merchant_id)
    outcome.add(store_credit_drifts(merchant_id, accounts, store_credit))
    summary = list(_summary(read, merchant_id))
    outcome.add(report_drifts(merchant_id, totals, summary))
    outcome.add(returns.drifts)
    outcome.add(returns.report_drifts(summary))


def _summary(read: ReadModel, merchant_id: uuid.UUID) -> Iterator[SummaryRow]:
    """The summary report over everything the merchant ever did, window by window (a
    report covers at most ``MAX_REPORT_DAYS``)."""
    span = read.ledger.activity_span(merchant_id)
    if span is None:
        return
    merchant = read.merchants.get(merchant_id)
    zone = merchant_zone(merchant.timezone if merchant else "UTC")
    first, last = (_local_day(moment, zone) for moment in span)
    while first <= last:
        window_end = min(first + timedelta(days=MAX_REPORT_DAYS - 1), last)
        report_range = merchant_range(read, merchant_id, first, window_end)
        yield from read.reports.summary(merchant_id, report_range, Granularity.MONTH)
        first = window_end + timedelta(days=1)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()
