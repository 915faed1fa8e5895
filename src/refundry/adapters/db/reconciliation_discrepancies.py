"""Reconciliation discrepancies: what a run finds comparing records with orders
(mismatched amounts, records without an order, records after an automatic refund,
reversals that failed), noted once per (kind, subject), reopened if they hold again,
resolved once they no longer do.

Half of ``SqlReconciliationRepository``; the records are the other half.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import aware, utc
from refundry.adapters.db.reconciliation_records import REVERSIBLE, for_merchant
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import reconciliation as reconciliation_tables
from refundry.adapters.db.tables.base import UTC_TIME
from refundry.domain.reconciliation import Discrepancy, DiscrepancyKind
from refundry.domain.status import OrderStatus

rec = reconciliation_tables.reconciliation_records
dis = reconciliation_tables.reconciliation_discrepancies
o = order_tables.orders


def _settled_amount() -> sa.ColumnElement[Any]:
    """What an order's transaction should say: the captured amount (money and points'
    value), or the authorized one while nothing is captured."""
    return sa.case((o.c.captured > 0, o.c.captured), else_=o.c.authorized)


def _mismatch() -> sa.ColumnElement[bool]:
    return sa.or_(
        rec.c.amount != _settled_amount(),
        rec.c.currency != o.c.currency,
        sa.and_(rec.c.points.is_not(None), rec.c.points != o.c.points_redeemed),
    )


def _money_owed() -> sa.ColumnElement[bool]:
    """The order's refunds that count (all but failed ones) add up to less than captured."""
    counted = (
        sa.select(sa.func.coalesce(sa.func.sum(order_tables.refunds.c.amount), 0))
        .where(order_tables.refunds.c.order_id == o.c.id, order_tables.refunds.c.status != "failed")
        .scalar_subquery()
    )
    return counted < o.c.captured


class SqlDiscrepancies:
    """Each comparison is one statement (an UPDATE ... FROM or an INSERT ... SELECT)."""

    _connection: sa.Connection

    def add_discrepancy(self, discrepancy: Discrepancy) -> bool:
        insert = conflict_insert(self._connection, dis).values(_discrepancy_row(discrepancy))
        # An open one stays as first found; a resolved one that holds again (money owed
        # again after a manual refund failed too) is reopened with today's figures.
        figures = ("order_amount", "record_amount", "order_points", "record_points", "action")
        statement = insert.on_conflict_do_update(
            index_elements=["merchant_id", "kind", "subject"],
            set_={
                "resolved_at": sa.null(),
                "found_at": insert.excluded.found_at,
                **{name: insert.excluded[name] for name in figures},
            },
            where=dis.c.resolved_at.is_not(None),
        )
        return self._connection.execute(statement).rowcount == 1

    def note_discrepancies(
        self, merchant_id: uuid.UUID | None, imported_before: datetime, now: datetime
    ) -> int:
        found = 0
        # Records matched to their orders, with both sides' figures.
        matched = sa.select(
            rec.c.merchant_id,
            rec.c.transaction_id,
            o.c.id,
            rec.c.currency,
            _settled_amount(),
            rec.c.amount,
            o.c.points_redeemed,
            rec.c.points,
        ).select_from(rec.join(o, o.c.id == rec.c.order_id))
        found += self._insert_found(
            DiscrepancyKind.AMOUNT_MISMATCH,
            matched.where(
                for_merchant(rec.c.merchant_id, merchant_id),
                o.c.status != OrderStatus.AUTO_REFUNDED.value,
                _mismatch(),
            ),
            now,
        )
        found += self._insert_found(
            DiscrepancyKind.RECORD_AFTER_AUTO_REFUND,
            matched.where(
                for_merchant(rec.c.merchant_id, merchant_id),
                o.c.status == OrderStatus.AUTO_REFUNDED.value,
            ),
            now,
        )
        found += self._insert_found(
            DiscrepancyKind.RECORD_WITHOUT_ORDER,
            sa.select(
                rec.c.merchant_id,
                rec.c.transaction_id,
                sa.null(),
                rec.c.currency,
                sa.null(),
                rec.c.amount,
                sa.null(),
                rec.c.points,
            ).where(
                for_merchant(rec.c.merchant_id, merchant_id),
                rec.c.order_id.is_(None),
                rec.c.imported_at < imported_before,
            ),
            now,
        )
        return found

    def _insert_found(self, kind: DiscrepancyKind, found: sa.Select[Any], now: datetime) -> int:
        """Insert what ``found`` selects (merchant, transaction, order, currency, order
        amount, record amount, order points, record points) as discrepancies of ``kind``."""
        # The subject is the transaction id for every kind these statements find.
        columns = found.add_columns(
            sa.literal(kind.value), sa.literal(now, UTC_TIME), rec.c.transaction_id
        )
        insert = conflict_insert(self._connection, dis).from_select(_FOUND_COLUMNS, columns)
        # One that was resolved and holds again is reopened; one whose figures changed (a
        # record corrected, still wrong) shows the new figures. Either counts as found.
        figures = ("order_amount", "record_amount", "order_points", "record_points")
        statement = insert.on_conflict_do_update(
            index_elements=["merchant_id", "kind", "subject"],
            set_={
                "resolved_at": sa.null(),
                "found_at": sa.case(
                    (dis.c.resolved_at.is_not(None), insert.excluded.found_at),
                    else_=dis.c.found_at,
                ),
                **{name: insert.excluded[name] for name in figures},
            },
            where=sa.or_(
                dis.c.resolved_at.is_not(None),
                *(dis.c[name].is_distinct_from(insert.excluded[name]) for name in figures),
            ),
        )
        # Counted from RETURNING: psycopg reports no rowcount for INSERT ... SELECT.
        return sum(1 for _ in self._connection.execute(statement.returning(dis.c.subject)))

    def unsettled_reversals(
        self, merchant_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
        """Auto-refunded orders whose automatic refund failed at the provider, so money is
        still owed: (merchant, order, currency, captured)."""
        rows = self._connection.execute(
            sa.select(o.c.merchant_id, o.c.id, o.c.currency, o.c.captured).where(
                for_merchant(o.c.merchant_id, merchant_id),
                o.c.status == OrderStatus.AUTO_REFUNDED.value,
                _money_owed(),
            )
        ).all()
        return [(row.merchant_id, row.id, row.currency, row.captured) for row in rows]

    def resolve_discrepancies(self, merchant_id: uuid.UUID | None, now: datetime) -> int:
        still_mismatched = (
            sa.select(sa.literal(1))
            .select_from(rec.join(o, o.c.id == rec.c.order_id))
            .where(
                rec.c.merchant_id == dis.c.merchant_id,
                rec.c.transaction_id == dis.c.subject,
                o.c.status != OrderStatus.AUTO_REFUNDED.value,
                _mismatch(),
            )
            .exists()
        )
        still_orphaned = (
            sa.select(sa.literal(1))
            .where(
                rec.c.merchant_id == dis.c.merchant_id,
                rec.c.transaction_id == dis.c.subject,
                rec.c.order_id.is_(None),
            )
            .exists()
        )
        # A reversal that could not be made, or whose money did not go back: it holds while
        # the order still waits to be reversed, or still owes money after it.
        still_unreversed = (
            sa.select(sa.literal(1))
            .where(
                o.c.id == dis.c.order_id,
                sa.or_(
                    sa.and_(
                        o.c.status.in_(REVERSIBLE),
                        ~sa.exists().where(rec.c.order_id == o.c.id),
                    ),
                    sa.and_(o.c.status == OrderStatus.AUTO_REFUNDED.value, _money_owed()),
                ),
            )
            .exists()
        )
        resolved = 0
        for kind, holds in (
            (DiscrepancyKind.AMOUNT_MISMATCH, still_mismatched),
            (DiscrepancyKind.RECORD_WITHOUT_ORDER, still_orphaned),
            (DiscrepancyKind.AUTO_REFUND_FAILED, still_unreversed),
        ):
            resolved += self._connection.execute(
                sa.update(dis)
                .where(
                    for_merchant(dis.c.merchant_id, merchant_id),
                    dis.c.kind == kind.value,
                    dis.c.resolved_at.is_(None),
                    ~holds,
                )
                .values(resolved_at=now)
            ).rowcount
        return resolved

    def discrepancies(
        self,
        merchant_id: uuid.UUID,
        *,
        include_resolved: bool,
        after: tuple[datetime, str, str] | None,
        limit: int,
    ) -> list[Discrepancy]:
        query = sa.select(dis).where(dis.c.merchant_id == merchant_id)
        if not include_resolved:
            query = query.where(dis.c.resolved_at.is_(None))
        if after is not None:
            query = query.where(sa.tuple_(dis.c.found_at, dis.c.kind, dis.c.subject) > after)
        rows = self._connection.execute(
            query.order_by(dis.c.found_at, dis.c.kind, dis.c.subject).limit(limit)
        ).mappings()
        return [_discrepancy(row) for row in rows]


_FOUND_COLUMNS = (
    "merchant_id",
    "transaction_id",
    "order_id",
    "currency",
    "order_amount",
    "record_amount",
    "order_points",
    "record_points",
    "kind",
    "found_at",
    "subject",
)


def _discrepancy_row(discrepancy: Discrepancy) -> dict[str, Any]:
    return {
        "merchant_id": discrepancy.merchant_id,
        "kind": discrepancy.kind.value,
        "subject": discrepancy.subject,
        "transaction_id": discrepancy.transaction_id,
        "order_id": discrepancy.order_id,
        "currency": discrepancy.currency,
        "order_amount": discrepancy.order_amount,
        "record_amount": discrepancy.record_amount,
        "order_points": discrepancy.order_points,
        "record_points": discrepancy.record_points,
        "action": discrepancy.action,
        "found_at": discrepancy.found_at,
        "resolved_at": discrepancy.resolved_at,
    }


def _discrepancy(row: sa.RowMapping) -> Discrepancy:
    return Discrepancy(
        merchant_id=row["merchant_id"],
        kind=DiscrepancyKind(row["kind"]),
        subject=row["subject"],
        found_at=utc(row["found_at"]),
        transaction_id=row["transaction_id"],
        order_id=row["order_id"],
        currency=row["currency"],
        order_amount=row["order_amount"],
        record_amount=row["record_amount"],
        order_points=row["order_points"],
        record_points=row["record_points"],
        action=row["action"],
        resolved_at=aware(row["resolved_at"]),
    )
