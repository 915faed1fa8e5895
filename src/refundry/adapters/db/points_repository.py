"""The points program, customers' accounts (locks) and the points ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.domain.points import (
    PointsEntry,
    PointsEntryKind,
    PointsProgram,
    PointsRounding,
    ShortfallPolicy,
)

p = ledger_tables.points_programs
acc = ledger_tables.points_accounts
en = ledger_tables.points_entries


class SqlPointsRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows

    def program(self, merchant_id: uuid.UUID) -> PointsProgram | None:
        row = (
            self._connection.execute(sa.select(p).where(p.c.merchant_id == merchant_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        return PointsProgram(
            points_per_unit=row["points_per_unit"],
            rounding=PointsRounding(row["rounding"]),
            shortfall_policy=ShortfallPolicy(row["shortfall_policy"]),
        )

    def set_program(self, merchant_id: uuid.UUID, program: PointsProgram, now: datetime) -> None:
        values = {
            "points_per_unit": program.points_per_unit,
            "rounding": program.rounding.value,
            "shortfall_policy": program.shortfall_policy.value,
            "updated_at": now,
        }
        insert = conflict_insert(self._connection, p).values(merchant_id=merchant_id, **values)
        self._connection.execute(
            insert.on_conflict_do_update(index_elements=["merchant_id"], set_=values)
        )

    def lock_account(self, merchant_id: uuid.UUID, customer: str, now: datetime) -> None:
        self._connection.execute(
            conflict_insert(self._connection, acc)
            .values(merchant_id=merchant_id, customer=customer, created_at=now)
            .on_conflict_do_nothing(index_elements=["merchant_id", "customer"])
        )
        if self._lock_rows and self._connection.dialect.name == "postgresql":
            self._connection.execute(
                sa.select(acc.c.customer)
                .where(acc.c.merchant_id == merchant_id, acc.c.customer == customer)
                .with_for_update()
            )

    def balance(self, merchant_id: uuid.UUID, customer: str) -> int:
        total = self._connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(en.c.points), 0)).where(
                en.c.merchant_id == merchant_id, en.c.customer == customer
            )
        ).scalar_one()
        return int(total)

    def taken_for_order(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> int:
        """Earned points the order's refunds took off the balance, net of any given back."""
        return -self._net_for_order(
            merchant_id, order_id, (PointsEntryKind.REVERSED, PointsEntryKind.ADJUSTED)
        )

    def restored_for_order(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> int:
        """Redeemed points the order's refunds gave back, net of any taken again."""
        return self._net_for_order(merchant_id, order_id, (PointsEntryKind.RESTORED,))

    def _net_for_order(
        self, merchant_id: uuid.UUID, order_id: uuid.UUID, kinds: tuple[PointsEntryKind, ...]
    ) -> int:
        total = self._connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(en.c.points), 0)).where(
                en.c.merchant_id == merchant_id,
                en.c.order_id == order_id,
                en.c.kind.in_([kind.value for kind in kinds]),
            )
        ).scalar_one()
        return int(total)

    def add(self, merchant_id: uuid.UUID, customer: str, entry: PointsEntry) -> None:
        self._connection.execute(
            sa.insert(en).values(
                id=entry.id,
                merchant_id=merchant_id,
                customer=customer,
                kind=entry.kind.value,
                points=entry.points,
                shortfall=entry.shortfall,
                order_id=entry.order_id,
                refund_id=entry.refund_id,
                note=entry.note,
                created_at=entry.created_at,
            )
        )

    def entries(self, merchant_id: uuid.UUID, customer: str, limit: int) -> list[PointsEntry]:
        rows = self._connection.execute(
            sa.select(en)
            .where(en.c.merchant_id == merchant_id, en.c.customer == customer)
            .order_by(en.c.created_at.desc(), en.c.id)
            .limit(limit)
        ).mappings()
        return [
            PointsEntry(
                id=row["id"],
                kind=PointsEntryKind(row["kind"]),
                points=row["points"],
                created_at=utc(row["created_at"]),
                order_id=row["order_id"],
                refund_id=row["refund_id"],
                shortfall=row["shortfall"],
                note=row["note"],
            )
            for row in rows
        ]
