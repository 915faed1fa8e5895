"""Reconciliation use cases: import the expected transaction records, compare them with
the orders, reverse redeem orders whose record never came, report the rest.

A run is several short transactions, not one: each reversal commits on its own under
the order's lock (so a crash half-way loses nothing and a rerun picks up where it
stopped), and the comparisons are set-wise statements. Running it twice changes nothing
the second time: reversed orders are terminal, and a discrepancy is recorded once per
(kind, subject).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import partial
from itertools import islice

from refundry.domain.errors import InvalidInput, RefundryError
from refundry.domain.reconciliation import (
    Discrepancy,
    DiscrepancyKind,
    ExpectedRecord,
    ReconciliationOutcome,
)
from refundry.domain.status import OrderStatus
from refundry.services.clock import utcnow
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.reconciliation")

RECONCILIATION_ACTOR = "system:reconciliation"
DEFAULT_GRACE = timedelta(hours=24)
IMPORT_BATCH = 1000
REVERSAL_PAGE = 200


def import_records(
    uow_factory: UnitOfWorkFactory,
    merchant_id: uuid.UUID,
    records: Iterable[ExpectedRecord],
    *,
    batch_size: int = IMPORT_BATCH,
) -> Iterator[int]:
    """Store records in batches, one transaction each; yields the count after each batch
    (what a progress bar shows). A record imported twice is stored once."""
    imported = 0
    source = iter(records)
    while batch := list(islice(source, batch_size)):
        run(uow_factory, lambda uow: _add(uow, merchant_id, batch))
        imported += len(batch)
        yield imported


def add_records(uow: UnitOfWork, merchant_id: uuid.UUID, records: Sequence[ExpectedRecord]) -> int:
    """The API's import: one batch, one transaction."""
    return _add(uow, merchant_id, records)


def _add(uow: UnitOfWork, merchant_id: uuid.UUID, records: Sequence[ExpectedRecord]) -> int:
    uow.reconciliation.add_records(merchant_id, _last_of_each(records), utcnow())
    return len(records)


def _last_of_each(records: Sequence[ExpectedRecord]) -> list[ExpectedRecord]:
    """A transaction listed twice in one batch counts as its last line (one INSERT cannot
    touch a row twice)."""
    return list({record.transaction_id: record for record in records}.values())


def reconcile(
    uow_factory: UnitOfWorkFactory,
    merchant_id: uuid.UUID | None,
    *,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
) -> ReconciliationOutcome:
    """Compare records with orders for one merchant (``None``: all of them)."""
    if grace < timedelta(0):
        raise InvalidInput("the grace period cannot be negative")
    now = now or utcnow()
    cutoff = now - grace
    linked = run(uow_factory, lambda uow: uow.reconciliation.link_records(merchant_id))
    reversed_orders: list[uuid.UUID] = []
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        page = read(uow_factory, partial(_orders_missing_records, merchant_id, cutoff, after))
        for order_merchant, order_id, _ in page:
            try:
                reversed_now = run(
                    uow_factory,
                    partial(
                        auto_refund_order,
                        merchant_id=order_merchant,
                        order_id=order_id,
                        created_before=cutoff,
                        now=now,
                    ),
                )
            except RefundryError as error:
                # One order that cannot be reversed must not stop the others: it is
                # reported, and support gives the money back by hand.
                logger.warning("order %s could not be reversed: %s", order_id, error.detail)
                run(uow_factory, partial(_report_failed_reversal, order_merchant, order_id, now))
                continue
            if reversed_now:
                reversed_orders.append(order_id)
        if len(page) < REVERSAL_PAGE:
            break
        after = (page[-1][2], page[-1][1])
    found = run(
        uow_factory, lambda uow: uow.reconciliation.note_discrepancies(merchant_id, cutoff, now)
    )
    found += run(uow_factory, partial(_report_unsettled_reversals, merchant_id, now))
    resolved = run(
        uow_factory, lambda uow: uow.reconciliation.resolve_discrepancies(merchant_id, now)
    )
    return ReconciliationOutcome(linked, tuple(reversed_orders), found, resolved)


def _orders_missing_records(
    merchant_id: uuid.UUID | None,
    created_before: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    uow: UnitOfWork,
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    return uow.reconciliation.orders_missing_records(
        merchant_id, created_before, after=after, limit=REVERSAL_PAGE
    )


def auto_refund_order(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    created_before: datetime,
    now: datetime,
) -> bool:
    """Reverse one redeem order whose record is missing, checked again under its lock (a
    record may have been imported since the page was read). ``False`` when it no longer
    qualifies."""
    order = uow.orders.get(merchant_id, order_id)
    if (
        order.payment.redemption is None
        or order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
        or order.created_at >= created_before
        or uow.reconciliation.has_record(merchant_id, order_id)
    ):
        return False
    order.auto_refund(reason=None, created_by=RECONCILIATION_ACTOR, now=now)
    uow.reconciliation.add_discrepancy(
        Discrepancy(
            merchant_id=merchant_id,
            kind=DiscrepancyKind.MISSING_RECORD,
            subject=str(order_id),
            found_at=now,
            order_id=order_id,
            currency=order.currency.code,
            order_amount=order.payment.captured.minor,
            order_points=order.points.redeemed,
            action=OrderStatus.AUTO_REFUNDED.value,
        )
    )
    return True


def _report_failed_reversal(
    merchant_id: uuid.UUID, order_id: uuid.UUID, now: datetime, uow: UnitOfWork
) -> bool:
    order = uow.orders.get(merchant_id, order_id)
    return uow.reconciliation.add_discrepancy(
        _failed_reversal(
            merchant_id, order_id, order.currency.code, order.payment.captured.minor, now
        )
    )


def _report_unsettled_reversals(
    merchant_id: uuid.UUID | None, now: datetime, uow: UnitOfWork
) -> int:
    """Auto-refunded orders whose refund the provider refused: the money is still owed."""
    return sum(
        uow.reconciliation.add_discrepancy(
            _failed_reversal(order_merchant, order_id, currency, captured, now)
        )
        for order_merchant, order_id, currency, captured in (
            uow.reconciliation.unsettled_reversals(merchant_id)
        )
    )


def _failed_reversal(
    merchant_id: uuid.UUID, order_id: uuid.UUID, currency: str, captured: int, now: datetime
) -> Discrepancy:
    return Discrepancy(
        merchant_id=merchant_id,
        kind=DiscrepancyKind.AUTO_REFUND_FAILED,
        subject=str(order_id),
        found_at=now,
        order_id=order_id,
        currency=currency,
        order_amount=captured,
    )
