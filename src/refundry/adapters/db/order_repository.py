"""Orders to rows and back, scoped by merchant, locked for change.

The repository remembers what it loaded so ``persist`` writes only what changed
(``order_writes``): the order row (guarded by its version), line counters, new refunds
and new refund status changes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import order_load, order_writes, return_queries, return_rows
from refundry.adapters.db import order_rows as rows
from refundry.adapters.db.order_search import found_by, page_of_orders
from refundry.adapters.db.return_queries import ReturnCursor
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.errors import DuplicateExternalId, OrderNotFound
from refundry.domain.events import DomainEvent
from refundry.domain.money import Currency
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.refund import Refund
from refundry.domain.returns import AfterSales, OrderReturn, ReturnStatus
from refundry.domain.status import OrderStatus
from refundry.services.ports.repositories import AfterSalesCounts, OrderSort, ReturnSort


class SqlOrderRepository:
    def __init__(
        self,
        connection: sa.Connection,
        *,
        lock_rows: bool,
        webhook_sequences: dict[uuid.UUID, int] | None = None,
    ) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._loaded: dict[uuid.UUID, order_writes.Snapshot] = {}
        self._seen: dict[uuid.UUID, Order] = {}
        self._written: set[uuid.UUID] = set()  # rows inserted or updated in this transaction
        # Each locked order's last webhook sequence number, for the webhook events
        # repository of the same unit of work.
        self._webhook_sequences = {} if webhook_sequences is None else webhook_sequences

    # ------------------------------------------------------------------ reads
    def get(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
        """The order, locked until the transaction ends; another merchant's is not found.
        One statement locks and reads it with its children (``order_load``)."""
        row = order_load.load_row(self._connection, merchant_id, order_id, lock=self._lock_rows)
        if row is None:
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
        if self._lock_rows:
            self._webhook_sequences[order_id] = row["_webhook_sequence"] or 0
        if order_id in self._seen:
            return self._seen[order_id]
        return self._assemble(row, *order_load.children(row))

    def get_many(self, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, Order]:
        """Several orders in a few statements (one, then one per child table that has
        rows). Locked in id order, so two workers locking overlapping sets (a batch of
        provider work each) wait for each other rather than deadlock."""
        merchant_of = {order_id: merchant_id for merchant_id, order_id in keys}
        if not merchant_of:
            return {}
        o = order_tables.orders
        query = sa.select(o).where(o.c.id.in_(sorted(merchant_of))).order_by(o.c.id)
        if self._lock_rows:
            query = query.with_for_update(of=o)
        found = [
            row
            for row in self._connection.execute(query).mappings()
            if row["merchant_id"] == merchant_of[row["id"]]  # another merchant's: not found
        ]
        return {order.id: order for order in self.hydrate(found)}

    def search(
        self,
        merchant_id: uuid.UUID,
        query: str | None,
        *,
        limit: int,
        offset: int,
        status: OrderStatus | None = None,
        customer_email: str | None = None,
    ) -> list[Order]:
        """Newest first; ``query`` matches an order id, an external id or a customer e-mail;
        ``customer_email`` only that customer's orders (any case)."""
        statement = sa.select(order_tables.orders).where(
            *found_by(merchant_id, query, customer_email)
        )
        if status is not None:
            statement = statement.where(order_tables.orders.c.status == status.value)
        statement = statement.order_by(
            order_tables.orders.c.created_at.desc(), order_tables.orders.c.id
        ).limit(limit)
        rows = self._connection.execute(statement.offset(offset)).mappings().all()
        return self.hydrate(rows)

    def orders_page(
        self,
        merchant_id: uuid.UUID,
        *,
        query: str | None,
        status: OrderStatus | None,
        sort: OrderSort,
        after: tuple[datetime | int, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]:
        statement = page_of_orders(
            merchant_id, query=query, status=status, sort=sort, after=after, limit=limit
        )
        return self.hydrate(self._connection.execute(statement).mappings().all())

    def status_counts(self, merchant_id: uuid.UUID, query: str | None) -> dict[OrderStatus, int]:
        """How many of the orders ``query`` finds (all, without one) are in each status:
        one grouped count, for the Orders list's tabs."""
        o = order_tables.orders.c
        rows = self._connection.execute(
            sa.select(o.status, sa.func.count())
            .where(*found_by(merchant_id, query, None))
            .group_by(o.status)
        ).all()
        return {OrderStatus(status): count for status, count in rows}

    def find_link_order(
        self, link_id: uuid.UUID | None = None, *, token: str | None = None
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(merchant id, order id) of the order holding a link, by id or by its token."""
        query = sa.select(
            order_tables.gift_card_links.c.merchant_id, order_tables.gift_card_links.c.order_id
        )
        if token is not None:
            query = query.where(order_tables.gift_card_links.c.token == token)
        else:
            query = query.where(order_tables.gift_card_links.c.id == link_id)
        row = self._connection.execute(query).first()
        return None if row is None else (row.merchant_id, row.order_id)

    def lapsing_authorizations(
        self, before: datetime, *, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(merchant id, order id) of unflagged holds that lapse by ``before``, soonest first.
        Across merchants: the authorization watch serves them all."""
        o = order_tables.orders.c
        rows = self._connection.execute(
            sa.select(o.merchant_id, o.id)
            .where(
                o.authorization_state == AuthorizationState.ACTIVE.value,
                o.authorization_expires_at <= before,
                o.authorization_flagged_at.is_(None),
            )
            .order_by(o.authorization_expires_at)
            .limit(limit)
        ).all()
        return [(row.merchant_id, row.id) for row in rows]

    def find_payment_order(
        self, order_id: uuid.UUID | None, payment_reference: str | None
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(merchant id, order id) of the order a provider event is about: named by our
        own order id when the provider echoes it, else found by the provider's payment id.
        Not merchant-scoped: the provider's signature vouches for the event."""
        query = sa.select(order_tables.orders.c.merchant_id, order_tables.orders.c.id)
        if order_id is not None:
            query = query.where(order_tables.orders.c.id == order_id)
        elif payment_reference is not None:
            query = query.where(order_tables.orders.c.payment_reference == payment_reference)
        else:
            return None
        row = self._connection.execute(query.limit(1)).first()
        return None if row is None else (row.merchant_id, row.id)

    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None:
        order_id = self._connection.execute(
            sa.select(order_tables.refunds.c.order_id).where(
                order_tables.refunds.c.id == refund_id,
                order_tables.refunds.c.merchant_id == merchant_id,
            )
        ).scalar_one_or_none()
        if order_id is None:
            return None
        order = self.get(merchant_id, order_id)
        return order, next(refund for refund in order.refunds if refund.id == refund_id)

    def find_return(
        self, merchant_id: uuid.UUID, return_id: uuid.UUID
    ) -> tuple[Order, OrderReturn] | None:
        order_id = return_queries.order_of_return(self._connection, merchant_id, return_id)
        if order_id is None:
            return None
        order = self.get(merchant_id, order_id)
        return order, order.return_by_id(return_id)

    def after_sales_counts(self, merchant_id: uuid.UUID, query: str | None) -> AfterSalesCounts:
        return return_queries.after_sales_counts(self._connection, merchant_id, query)

    def returns_page(
        self,
        merchant_id: uuid.UUID,
        *,
        status: ReturnStatus | None = None,
        query: str | None = None,
        after: ReturnCursor | None = None,
        limit: int,
        records: AfterSales = AfterSales.RETURNS,
        sort: ReturnSort = ReturnSort.NEWEST,
    ) -> list[tuple[Order, OrderReturn | Refund]]:
        """A page of the merchant's returns (and cancellation refunds, if asked) in
        ``sort``'s order, each with its order."""
        found = return_queries.returns_page(
            self._connection,
            merchant_id,
            status=status,
            query=query,
            after=after,
            limit=limit,
            records=records,
            sort=sort,
        )
        order_ids = list({order_id for order_id, _, _ in found})
        order_rows = (
            self._connection.execute(
                sa.select(order_tables.orders).where(order_tables.orders.c.id.in_(order_ids))
            )
            .mappings()
            .all()
        )
        orders = {order.id: order for order in self.hydrate(order_rows)}
        return [
            (
                orders[order_id],
                orders[order_id].refund_by_id(record_id)
                if is_cancellation
                else orders[order_id].return_by_id(record_id),
            )
            for order_id, record_id, is_cancellation in found
        ]

    # ----------------------------------------------------------------- writes
    def add(self, order: Order) -> None:
        self._check_external_id_free(order)
        savepoint = self._connection.begin_nested()
        try:
            order_writes.insert_orders(self._connection, [order])
        except sa.exc.IntegrityError:
            # A concurrent ingest took the external id between our check and insert.
            savepoint.rollback()
            self._check_external_id_free(order)
            raise
        savepoint.commit()
        self._remember(order)
        self._written.add(order.id)

    def add_many(self, orders: Sequence[Order]) -> None:
        """Insert many new orders with one statement per table (seeding, imports).

        A duplicate external id fails the whole batch (the unique index says so).
        """
        order_writes.insert_orders(self._connection, orders)
        for order in orders:
            self._remember(order)
            self._written.add(order.id)

    def _check_external_id_free(self, order: Order) -> None:
        if order.external_id is None:
            return
        existing = self._connection.execute(
            sa.select(order_tables.orders.c.id).where(
                order_tables.orders.c.merchant_id == order.merchant_id,
                order_tables.orders.c.external_id == order.external_id,
            )
        ).scalar_one_or_none()
        if existing is not None:
            raise DuplicateExternalId(
                f"order {existing} already has external id {order.external_id!r}",
                order_id=str(existing),
            )

    def drain_events(self) -> list[tuple[Order, DomainEvent]]:
        """The events recorded by the orders handed out, with their order, once.

        An order's events come only with a change to its row (every method that records
        one bumps its version): the next change's lock-and-load counts on that to read
        the order's last webhook sequence number current (``order_load.load_row``)."""
        drained: list[tuple[Order, DomainEvent]] = []
        for order in self._seen.values():
            if order.events and order.id not in self._written:
                raise RuntimeError(f"order {order.id} recorded events but did not change")
            drained.extend((order, event) for event in order.events)
            order.events.clear()
        return drained

    def has_recorded_events(self) -> bool:
        return any(order.events for order in self._seen.values())

    def persist(self) -> None:
        """Write every change made to the orders this repository handed out."""
        for order in self._seen.values():
            loaded = self._loaded[order.id]
            if order.version == loaded.version:
                continue
            order_writes.update_order(self._connection, order, loaded)
            self._remember(order)
            self._written.add(order.id)

    def _remember(self, order: Order) -> None:
        self._seen[order.id] = order
        self._loaded[order.id] = order_writes.snapshot(order)

    # ------------------------------------------------------------- hydration
    def hydrate(self, order_rows: Sequence[sa.RowMapping]) -> list[Order]:
        if not order_rows:
            return []
        order_ids = [row["id"] for row in order_rows]
        t, rt = order_tables, return_tables
        lines = self._children(t.order_lines, "order_id", order_ids, "position")
        link_rows = self._children(t.gift_card_links, "order_id", order_ids, "position")
        refund_rows = self._children(t.refunds, "order_id", order_ids, "created_at")
        refund_ids = _ids(refund_rows)
        refund_line_rows = self._children(t.refund_lines, "refund_id", refund_ids, "position")
        history_rows = self._children(t.refund_status_changes, "refund_id", refund_ids, "sequence")
        returns = self._children(rt.returns, "order_id", order_ids, "created_at")
        return_ids = _ids(returns)
        return_lines = self._children(rt.return_lines, "return_id", return_ids, "position")
        return_history = self._children(
            rt.return_status_changes, "return_id", return_ids, "sequence"
        )
        orders = []
        for row in order_rows:
            order_id = row["id"]
            if order_id in self._seen:
                orders.append(self._seen[order_id])
                continue
            orders.append(
                self._assemble(
                    row,
                    lines.get(order_id, []),
                    refund_rows.get(order_id, []),
                    refund_line_rows,
                    history_rows,
                    link_rows.get(order_id, []),
                    returns.get(order_id, []),
                    return_lines,
                    return_history,
                )
            )
        return orders

    def _assemble(
        self,
        row: Mapping[Any, Any],
        lines: Any,
        refunds: Any,
        refund_lines: Any,
        refund_history: Any,
        links: Any,
        returns: Any,
        return_lines: Any,
        return_history: Any,
    ) -> Order:
        currency = Currency.of(row["currency"])
        order = rows.order_with_children(
            row,
            lines,
            refunds,
            refund_lines,
            refund_history,
            links,
            return_rows.returns_from_rows(returns, currency, return_lines, return_history),
        )
        self._remember(order)
        return order

    def _children(
        self, table: sa.Table, key_name: str, ids: Sequence[Any], order_by: str
    ) -> dict[Any, list[sa.RowMapping]]:
        """``table``'s rows whose ``key_name`` is one of ``ids``, grouped by it, in order;
        no statement when there are no ids (most orders have no refunds or returns)."""
        grouped: dict[Any, list[sa.RowMapping]] = defaultdict(list)
        if not ids:
            return grouped
        key = table.c[key_name]
        rows = self._connection.execute(
            sa.select(table).where(key.in_(list(ids))).order_by(key, table.c[order_by])
        ).mappings()
        for row in rows:
            grouped[row[key_name]].append(row)
        return grouped


def _ids(groups: dict[Any, list[sa.RowMapping]]) -> list[Any]:
    return [row["id"] for group in groups.values() for row in group]
