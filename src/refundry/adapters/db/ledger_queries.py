"""What ``refundry verify`` reads: orders in keyset batches with the columns loading
ignores, and the points, float and outbox ledgers beside them, summed in SQL."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db.order_repository import SqlOrderRepository
from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables import ledgers as ledger_tables
from refundry.adapters.db.tables import merchants as merchant_tables
from refundry.adapters.db.tables import messages as message_tables
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.ledger_check import (
    FloatCredit,
    FloatLedger,
    OrderPointsLedger,
    StoredOrderFigures,
    StoredRefundFigures,
)
from refundry.domain.merchant_float import FloatEntryKind
from refundry.domain.points import PointsEntryKind
from refundry.domain.refund import RefundMethod, RefundStatus
from refundry.services.ports.ledger import CheckedOrder
from refundry.services.ports.outbox import MessageState, Topic

en = ledger_tables.points_entries
fe = ledger_tables.float_entries


class SqlLedgerQueries:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def snapshot(self) -> None:
        """Read everything that follows as of one moment. SQLite's read transaction is
        already a snapshot; PostgreSQL's default isolation sees each statement's own."""
        if self._connection.dialect.name == "postgresql":
            self._connection.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )

    def merchant_ids(self) -> list[uuid.UUID]:
        query = sa.select(merchant_tables.merchants.c.id).order_by(merchant_tables.merchants.c.id)
        return list(self._connection.execute(query).scalars())

    def order_batch(
        self, merchant_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[CheckedOrder]:
        # Keyset on (created_at, id): the (merchant_id, created_at) index serves it, where
        # paging on the id alone made PostgreSQL sort a million rows for every page.
        o = order_tables.orders
        query = sa.select(o).where(o.c.merchant_id == merchant_id)
        if after is not None:
            created_at, order_id = after
            query = query.where(
                o.c.created_at >= created_at,
                sa.or_(o.c.created_at > created_at, o.c.id > order_id),
            )
        rows = self._connection.execute(
            query.order_by(o.c.created_at, o.c.id).limit(limit)
        ).mappings()
        order_rows = list(rows)
        if not order_rows:
            return []
        # A repository per batch: it remembers what it loads, which a million orders
        # must not accumulate.
        orders = SqlOrderRepository(self._connection, lock_rows=False).hydrate(order_rows)
        ids = [order.id for order in orders]
        refunds = self._stored_refunds(ids)
        points = self._points(merchant_id, ids)
        in_flight = self._refunds_in_flight(merchant_id, ids)
        return [
            CheckedOrder(
                order,
                StoredOrderFigures(
                    total=row["total"],
                    subtotal=row["subtotal"],
                    discount=row["discount"],
                    tax=row["tax"],
                    fulfilment_status=row["fulfilment_status"],
                    refunds=refunds.get(order.id, {}),
                ),
                points.get(order.id, OrderPointsLedger()),
                in_flight,
            )
            for order, row in zip(orders, order_rows, strict=True)
        ]

    def _stored_refunds(
        self, order_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[uuid.UUID, StoredRefundFigures]]:
        r = order_tables.refunds
        rows = self._connection.execute(
            sa.select(
                r.c.order_id,
                r.c.id,
                r.c.amount,
                r.c.tax,
                r.c.subtotal,
                r.c.discount,
                r.c.settled_at.is_not(None),
                r.c.reason_key,
            ).where(r.c.order_id.in_(order_ids))
        )
        stored: dict[uuid.UUID, dict[uuid.UUID, StoredRefundFigures]] = defaultdict(dict)
        for order_id, refund_id, amount, tax, subtotal, discount, settled, key in rows:
            stored[order_id][refund_id] = StoredRefundFigures(
                amount, tax, subtotal, discount, bool(settled), key
            )
        return stored

    def _points(
        self, merchant_id: uuid.UUID, order_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, OrderPointsLedger]:
        rows = self._connection.execute(
            sa.select(
                en.c.order_id, en.c.kind, sa.func.sum(en.c.points), sa.func.sum(en.c.shortfall)
            )
            .where(en.c.merchant_id == merchant_id, en.c.order_id.in_(order_ids))
            .group_by(en.c.order_id, en.c.kind)
        )
        sums: dict[uuid.UUID, dict[str, tuple[int, int]]] = defaultdict(dict)
        for order_id, kind, points, shortfall in rows:
            sums[order_id][kind] = (int(points), int(shortfall))
        ledgers = {}
        for order_id, kinds in sums.items():

            def total(kind: PointsEntryKind, kinds: dict[str, tuple[int, int]] = kinds) -> int:
                return kinds.get(kind.value, (0, 0))[0]

            def short(kind: PointsEntryKind, kinds: dict[str, tuple[int, int]] = kinds) -> int:
                return kinds.get(kind.value, (0, 0))[1]

            ledgers[order_id] = OrderPointsLedger(
                earned=total(PointsEntryKind.EARNED),
                redeemed=-total(PointsEntryKind.REDEEMED),
                taken=-(total(PointsEntryKind.REVERSED) + total(PointsEntryKind.ADJUSTED)),
                taken_shortfall=short(PointsEntryKind.REVERSED),
                restored=total(PointsEntryKind.RESTORED),
                restored_shortfall=short(PointsEntryKind.RESTORED),
            )
        return ledgers

    def _refunds_in_flight(
        self, merchant_id: uuid.UUID, order_ids: list[uuid.UUID]
    ) -> frozenset[uuid.UUID]:
        o = message_tables.outbox_messages
        payloads = self._connection.execute(
            sa.select(o.c.payload).where(
                o.c.merchant_id == merchant_id,
                o.c.order_id.in_(order_ids),
                o.c.topic == Topic.PROVIDER_REFUND.value,
                o.c.state == MessageState.PENDING.value,
            )
        ).scalars()
        return frozenset(uuid.UUID(json.loads(payload)["refund_id"]) for payload in payloads)

    # ------------------------------------------------------------------- float
    def float_ledger(self, merchant_id: uuid.UUID) -> FloatLedger | None:
        has_account = self._connection.execute(
            sa.select(ledger_tables.float_accounts.c.merchant_id).where(
                ledger_tables.float_accounts.c.merchant_id == merchant_id
            )
        ).first()
        if has_account is None:
            return None
        balance = self._connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(fe.c.amount), 0)).where(
                fe.c.merchant_id == merchant_id
            )
        ).scalar_one()
        r = order_tables.refunds
        credit_rows = self._connection.execute(
            sa.select(
                fe.c.refund_id, fe.c.invoice_id, fe.c.amount, r.c.amount, r.c.method, r.c.status
            )
            .select_from(fe.outerjoin(r, r.c.id == fe.c.refund_id))
            .where(fe.c.merchant_id == merchant_id, fe.c.kind == FloatEntryKind.CREDIT.value)
        )
        completed = self._connection.execute(
            sa.select(r.c.id).where(
                r.c.merchant_id == merchant_id,
                r.c.method == RefundMethod.FLOAT.value,
                r.c.status == RefundStatus.COMPLETED.value,
            )
        ).scalars()
        i = ledger_tables.invoices
        period_rows = self._connection.execute(
            sa.select(i.c.id, fe.c.kind, sa.func.sum(fe.c.amount))
            .select_from(
                i.join(
                    fe,
                    sa.and_(
                        fe.c.merchant_id == i.c.merchant_id,
                        fe.c.created_at >= i.c.period_start,
                        fe.c.created_at < i.c.period_end,
                    ),
                )
            )
            .where(i.c.merchant_id == merchant_id, fe.c.kind != FloatEntryKind.CREDIT.value)
            .group_by(i.c.id, fe.c.kind)
        )
        period_totals: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for invoice_id, kind, amount in period_rows:
            period_totals[invoice_id][kind] = int(amount)
        return FloatLedger(
            balance=int(balance),
            credits=tuple(
                FloatCredit(refund_id, invoice_id, amount, refund_amount, method, status)
                for refund_id, invoice_id, amount, refund_amount, method, status in credit_rows
            ),
            completed_float_refunds=frozenset(completed),
            period_totals=period_totals,
        )

    # ----------------------------------------------------------------- reports
    def activity_span(self, merchant_id: uuid.UUID) -> tuple[datetime, datetime] | None:
        """The first and last moment a report could count: orders placed, refunds settled,
        returns created."""
        o, r, rt = order_tables.orders, order_tables.refunds, return_tables.returns
        orders = self._connection.execute(
            sa.select(sa.func.min(o.c.created_at), sa.func.max(o.c.created_at)).where(
                o.c.merchant_id == merchant_id
            )
        ).one()
        refunds = self._connection.execute(
            sa.select(sa.func.min(r.c.settled_at), sa.func.max(r.c.settled_at)).where(
                r.c.merchant_id == merchant_id
            )
        ).one()
        returns = self._connection.execute(
            sa.select(sa.func.min(rt.c.created_at), sa.func.max(rt.c.created_at)).where(
                rt.c.merchant_id == merchant_id
            )
        ).one()
        moments = [utc(moment) for moment in (*orders, *refunds, *returns) if moment is not None]
        if not moments:
            return None
        return min(moments), max(moments)
