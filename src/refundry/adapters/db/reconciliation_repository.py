"""Reconciliation records and discrepancies, compared set-wise in the database.

Every comparison is one statement (an UPDATE ... FROM or an INSERT ... SELECT), so a
run over a million records moves no row through Python and its memory stays flat; the
redeem orders to reverse come back in keyset pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import tables as t
from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import aware, utc
from refundry.domain.reconciliation import Discrepancy, DiscrepancyKind, ExpectedRecord
from refundry.domain.status import OrderStatus

rec = t.reconciliation_records
dis = t.reconciliation_discrepancies
o = t.orders

UUID_TEXT_LENGTH = 36
# Settled redeem orders: what a missing record reverses.
REVERSIBLE = (OrderStatus.PAID.value, OrderStatus.PARTIALLY_REFUNDED.value)


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
        sa.select(sa.func.coalesce(sa.func.sum(t.refunds.c.amount), 0))
        .where(t.refunds.c.order_id == o.c.id, t.refunds.c.status != "failed")
        .scalar_subquery()
    )
    return counted < o.c.captured


def _for(column: sa.ColumnElement[Any], merchant_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    return sa.true() if merchant_id is None else column == merchant_id


class SqlReconciliationRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add_records(
        self, merchant_id: uuid.UUID, records: Sequence[ExpectedRecord], now: datetime
    ) -> None:
        if not records:
            return
        rows = [
            {
                "merchant_id": merchant_id,
                "transaction_id": record.transaction_id,
                "order_reference": record.order_reference,
                "order_id": None,
                "currency": record.amount.currency.code,
                "amount": record.amount.minor,
                "points": record.points,
                "occurred_at": record.occurred_at,
                "imported_at": now,
            }
            for record in records
        ]
        insert = conflict_insert(self._connection, rec)
        changed = sa.or_(
            rec.c.order_reference != insert.excluded.order_reference,
            rec.c.currency != insert.excluded.currency,
            rec.c.amount != insert.excluded.amount,
            rec.c.points.is_distinct_from(insert.excluded.points),
        )
        # A corrected record replaces the old one (and is matched again); the same
        # record imported twice changes nothing, not even its import time.
        self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=["merchant_id", "transaction_id"],
                set_={
                    "order_reference": insert.excluded.order_reference,
                    "order_id": sa.case(
                        (rec.c.order_reference == insert.excluded.order_reference, rec.c.order_id),
                        else_=sa.null(),
                    ),
                    "currency": insert.excluded.currency,
                    "amount": insert.excluded.amount,
                    "points": insert.excluded.points,
                    "occurred_at": insert.excluded.occurred_at,
                },
                where=changed,
            ),
            rows,
        )

    def link_records(self, merchant_id: uuid.UUID | None) -> int:
        by_external_id = self._connection.execute(
            sa.update(rec)
            .where(
                rec.c.order_id.is_(None),
                _for(rec.c.merchant_id, merchant_id),
                o.c.merchant_id == rec.c.merchant_id,
                o.c.external_id == rec.c.order_reference,
            )
            .values(order_id=o.c.id)
        ).rowcount
        return by_external_id + self._link_by_order_id(merchant_id)

    def _link_by_order_id(self, merchant_id: uuid.UUID | None) -> int:
        """Records that name an order by its Refundry id (orders without an external id):
        a UUID's text differs between databases, so the ids are parsed here."""
        candidates = self._connection.execute(
            sa.select(rec.c.merchant_id, rec.c.transaction_id, rec.c.order_reference).where(
                rec.c.order_id.is_(None),
                _for(rec.c.merchant_id, merchant_id),
                sa.func.length(rec.c.order_reference) == UUID_TEXT_LENGTH,
            )
        ).all()
        linked = 0
        for record_merchant, transaction_id, reference in candidates:
            try:
                order_id = uuid.UUID(reference)
            except ValueError:
                continue
            if str(order_id) != reference:
                continue  # only the id as the API writes it, as ``has_record`` looks for it
            linked += self._connection.execute(
                sa.update(rec)
                .where(
                    rec.c.merchant_id == record_merchant,
                    rec.c.transaction_id == transaction_id,
                    sa.exists().where(o.c.id == order_id, o.c.merchant_id == record_merchant),
                )
                .values(order_id=order_id)
            ).rowcount
        return linked

    def orders_missing_records(
        self,
        merchant_id: uuid.UUID | None,
        created_before: datetime,
        *,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        rows = self._connection.execute(
            sa.select(o.c.merchant_id, o.c.id)
            .where(
                _for(o.c.merchant_id, merchant_id),
                o.c.points_redeemed > 0,
                o.c.status.in_(REVERSIBLE),
                o.c.created_at < created_before,
                sa.true() if after is None else o.c.id > after,
                ~sa.exists().where(rec.c.order_id == o.c.id),
                # Only a merchant who sends records is reconciled: one who never imported
                # any has no record missing, and its orders must not be reversed.
                sa.exists().where(rec.c.merchant_id == o.c.merchant_id),
            )
            .order_by(o.c.id)
            .limit(limit)
        ).all()
        return [(row.merchant_id, row.id) for row in rows]

    def has_record(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> bool:
        """Linked, or waiting to be linked (imported since the run began)."""
        external_id = self._connection.execute(
            sa.select(o.c.external_id).where(o.c.id == order_id, o.c.merchant_id == merchant_id)
        ).scalar_one_or_none()
        references = [str(order_id)] + ([external_id] if external_id else [])
        found = self._connection.execute(
            sa.select(sa.literal(1)).where(
                rec.c.merchant_id == merchant_id,
                sa.or_(rec.c.order_id == order_id, rec.c.order_reference.in_(references)),
            )
        ).first()
        return found is not None

    def add_discrepancy(self, discrepancy: Discrepancy) -> bool:
        inserted = self._connection.execute(
            conflict_insert(self._connection, dis)
            .values(_discrepancy_row(discrepancy))
            .on_conflict_do_nothing(index_elements=["merchant_id", "kind", "subject"])
        )
        return inserted.rowcount == 1

    def note_discrepancies(
        self, merchant_id: uuid.UUID | None, imported_before: datetime, now: datetime
    ) -> int:
        found = 0
        matched = rec.join(o, o.c.id == rec.c.order_id)
        found += self._insert_found(
            DiscrepancyKind.AMOUNT_MISMATCH,
            sa.select(
                rec.c.merchant_id,
                rec.c.transaction_id,
                o.c.id,
                rec.c.currency,
                _settled_amount(),
                rec.c.amount,
                o.c.points_redeemed,
                rec.c.points,
            )
            .select_from(matched)
            .where(
                _for(rec.c.merchant_id, merchant_id),
                o.c.status != OrderStatus.AUTO_REFUNDED.value,
                _mismatch(),
            ),
            now,
        )
        found += self._insert_found(
            DiscrepancyKind.RECORD_AFTER_AUTO_REFUND,
            sa.select(
                rec.c.merchant_id,
                rec.c.transaction_id,
                o.c.id,
                rec.c.currency,
                _settled_amount(),
                rec.c.amount,
                o.c.points_redeemed,
                rec.c.points,
            )
            .select_from(matched)
            .where(
                _for(rec.c.merchant_id, merchant_id),
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
                _for(rec.c.merchant_id, merchant_id),
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
            sa.literal(kind.value), sa.literal(now, t.UTC_TIME), rec.c.transaction_id
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
                _for(o.c.merchant_id, merchant_id),
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
                    _for(dis.c.merchant_id, merchant_id),
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

    def count_records(self, merchant_id: uuid.UUID) -> int:
        return int(
            self._connection.execute(
                sa.select(sa.func.count()).where(rec.c.merchant_id == merchant_id)
            ).scalar_one()
        )


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
