"""Orders to rows and back, scoped by merchant, locked for change.

The repository remembers what it loaded so ``persist`` writes only what changed:
the order row (guarded by its version), line counters, new refunds and new refund
status changes. Refund rows are append-only apart from their status.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import order_load
from refundry.adapters.db import order_rows as rows
from refundry.adapters.db import tables as t
from refundry.domain.errors import Conflict, DuplicateExternalId, OrderNotFound
from refundry.domain.events import DomainEvent
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.refund import Refund
from refundry.domain.status import OrderStatus


@dataclass
class _Loaded:
    version: int
    refund_history: dict[uuid.UUID, int]  # refund id -> status changes already stored
    refund_references: dict[uuid.UUID, str | None]
    refund_points: dict[uuid.UUID, tuple[int, int]]
    links: dict[uuid.UUID, tuple[object, ...]]
    lines: dict[uuid.UUID, tuple[int, int]]  # line id -> (fulfilled, cancelled) quantities


class SqlOrderRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._loaded: dict[uuid.UUID, _Loaded] = {}
        self._seen: dict[uuid.UUID, Order] = {}

    # ------------------------------------------------------------------ reads
    def get(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
        """The order, locked until the transaction ends; another merchant's is not found.
        One statement locks and reads it with its children (``order_load``)."""
        row = order_load.load_row(self._connection, merchant_id, order_id, lock=self._lock_rows)
        if row is None:
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
        if order_id in self._seen:
            return self._seen[order_id]
        return self._assemble(row, *order_load.children(row))

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
        statement = sa.select(t.orders).where(t.orders.c.merchant_id == merchant_id)
        if status is not None:
            statement = statement.where(t.orders.c.status == status.value)
        if customer_email is not None:
            statement = statement.where(
                sa.func.lower(t.orders.c.customer_email) == customer_email.strip().lower()
            )
        if query:
            text = query.strip()
            matches = [
                t.orders.c.external_id == text,
                sa.func.lower(t.orders.c.customer_email) == text.lower(),
            ]
            with contextlib.suppress(ValueError):  # not every query is an order id
                matches.append(t.orders.c.id == uuid.UUID(text))
            statement = statement.where(sa.or_(*matches))
        statement = statement.order_by(t.orders.c.created_at.desc(), t.orders.c.id).limit(limit)
        rows = self._connection.execute(statement.offset(offset)).mappings().all()
        return self.hydrate(rows)

    def find_link_order(
        self, link_id: uuid.UUID | None = None, *, token: str | None = None
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """(merchant id, order id) of the order holding a link, by id or by its token."""
        query = sa.select(t.gift_card_links.c.merchant_id, t.gift_card_links.c.order_id)
        if token is not None:
            query = query.where(t.gift_card_links.c.token == token)
        else:
            query = query.where(t.gift_card_links.c.id == link_id)
        row = self._connection.execute(query).first()
        return None if row is None else (row.merchant_id, row.order_id)

    def lapsing_authorizations(
        self, before: datetime, *, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(merchant id, order id) of unflagged holds that lapse by ``before``, soonest first.
        Across merchants: the authorization watch serves them all."""
        o = t.orders.c
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
        query = sa.select(t.orders.c.merchant_id, t.orders.c.id)
        if order_id is not None:
            query = query.where(t.orders.c.id == order_id)
        elif payment_reference is not None:
            query = query.where(t.orders.c.payment_reference == payment_reference)
        else:
            return None
        row = self._connection.execute(query.limit(1)).first()
        return None if row is None else (row.merchant_id, row.id)

    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None:
        order_id = self._connection.execute(
            sa.select(t.refunds.c.order_id).where(
                t.refunds.c.id == refund_id, t.refunds.c.merchant_id == merchant_id
            )
        ).scalar_one_or_none()
        if order_id is None:
            return None
        order = self.get(merchant_id, order_id)
        return order, next(refund for refund in order.refunds if refund.id == refund_id)

    # ----------------------------------------------------------------- writes
    def add(self, order: Order) -> None:
        self._check_external_id_free(order)
        savepoint = self._connection.begin_nested()
        try:
            self._insert([order])
        except sa.exc.IntegrityError:
            # A concurrent ingest took the external id between our check and insert.
            savepoint.rollback()
            self._check_external_id_free(order)
            raise
        savepoint.commit()
        self._remember(order)

    def add_many(self, orders: Sequence[Order]) -> None:
        """Insert many new orders with one statement per table (seeding, imports).

        A duplicate external id fails the whole batch (the unique index says so).
        """
        self._insert(orders)
        for order in orders:
            self._remember(order)

    def _insert(self, orders: Sequence[Order]) -> None:
        execute = self._connection.execute
        execute(sa.insert(t.orders), [rows.order_row(order) for order in orders])
        execute(
            sa.insert(t.order_lines),
            [
                rows.line_row(order, position, line)
                for order in orders
                for position, line in enumerate(order.lines)
            ],
        )
        link_rows = [
            rows.link_row(order, position, link)
            for order in orders
            for position, link in enumerate(order.links)
        ]
        if link_rows:
            execute(sa.insert(t.gift_card_links), link_rows)
        refunds = [(order, refund) for order in orders for refund in order.refunds]
        if refunds:
            self._insert_refunds(refunds)

    def _check_external_id_free(self, order: Order) -> None:
        if order.external_id is None:
            return
        existing = self._connection.execute(
            sa.select(t.orders.c.id).where(
                t.orders.c.merchant_id == order.merchant_id,
                t.orders.c.external_id == order.external_id,
            )
        ).scalar_one_or_none()
        if existing is not None:
            raise DuplicateExternalId(
                f"order {existing} already has external id {order.external_id!r}",
                order_id=str(existing),
            )

    def drain_events(self) -> list[tuple[Order, DomainEvent]]:
        """The events recorded by the orders handed out, with their order, once."""
        drained: list[tuple[Order, DomainEvent]] = []
        for order in self._seen.values():
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
            self._update(order, loaded)
            self._remember(order)

    def _update(self, order: Order, loaded: _Loaded) -> None:
        values = rows.order_row(order)
        del values["id"]
        values |= {
            "b_id": order.id,
            "b_merchant_id": order.merchant_id,
            "b_version": loaded.version,
        }
        result = self._connection.execute(_UPDATE_ORDER, values)
        if result.rowcount != 1:
            # Cannot happen under the row lock; if it does, refuse rather than overwrite.
            raise Conflict(f"order {order.id} was changed concurrently; retry the request")
        # Only the lines that changed (a partial refund changes none of them), and those in
        # one call: psycopg sends an executemany's statements without waiting for each.
        changed = [
            {"line_id": line.id, "fulfilled": line.fulfilled_quantity,
             "cancelled": line.cancelled_quantity}
            for line in order.lines
            if (line.fulfilled_quantity, line.cancelled_quantity) != loaded.lines.get(line.id)
        ]  # fmt: skip
        if changed:
            self._connection.execute(_UPDATE_LINE, changed)
        for link in order.links:
            if rows.link_state(link) != loaded.links[link.id]:
                self._connection.execute(
                    sa.update(t.gift_card_links)
                    .where(t.gift_card_links.c.id == link.id)
                    .values(
                        accessed_at=link.accessed_at,
                        spent=link.spent_amount.minor,
                        cancelled_at=link.cancelled_at,
                        cancel_reason=link.cancel_reason,
                    )
                )
        self._insert_refunds(
            [(order, refund) for refund in order.refunds if refund.id not in loaded.refund_history]
        )
        for refund in order.refunds:
            stored = loaded.refund_history.get(refund.id)
            if stored is None:
                continue
            if (
                stored < len(refund.history)
                or refund.provider_reference != loaded.refund_references.get(refund.id)
                or (refund.points_reversed, refund.points_restored)
                != loaded.refund_points.get(refund.id)
            ):
                self._connection.execute(
                    sa.update(t.refunds)
                    .where(t.refunds.c.id == refund.id)
                    .values(
                        status=refund.status.value,
                        completed_at=refund.completed_at,
                        settled_at=rows.settled_at(refund),
                        failure_reason=refund.failure_reason,
                        provider_reference=refund.provider_reference,
                        points_reversed=refund.points_reversed,
                        points_restored=refund.points_restored,
                    )
                )
                self._insert_history(order, refund, start=stored)

    def _insert_refunds(self, refunds: Sequence[tuple[Order, Refund]]) -> None:
        if not refunds:
            return
        execute = self._connection.execute
        execute(sa.insert(t.refunds), [rows.refund_row(order, refund) for order, refund in refunds])
        line_rows = [
            rows.refund_line_row(order, refund, position, line)
            for order, refund in refunds
            for position, line in enumerate(refund.breakdown.lines)
        ]
        if line_rows:
            execute(sa.insert(t.refund_lines), line_rows)
        history = [
            row for order, refund in refunds for row in _history_rows(order, refund, start=0)
        ]
        execute(sa.insert(t.refund_status_changes), history)

    def _insert_history(self, order: Order, refund: Refund, *, start: int) -> None:
        history = _history_rows(order, refund, start=start)
        if history:
            self._connection.execute(sa.insert(t.refund_status_changes), history)

    def _remember(self, order: Order) -> None:
        self._seen[order.id] = order
        self._loaded[order.id] = _Loaded(
            version=order.version,
            refund_history={refund.id: len(refund.history) for refund in order.refunds},
            refund_references={refund.id: refund.provider_reference for refund in order.refunds},
            refund_points={
                refund.id: (refund.points_reversed, refund.points_restored)
                for refund in order.refunds
            },
            links={link.id: rows.link_state(link) for link in order.links},
            lines={
                line.id: (line.fulfilled_quantity, line.cancelled_quantity) for line in order.lines
            },
        )

    # ------------------------------------------------------------- hydration
    def hydrate(self, order_rows: Sequence[sa.RowMapping]) -> list[Order]:
        if not order_rows:
            return []
        order_ids = [row["id"] for row in order_rows]
        lines = self._children(t.order_lines, t.order_lines.c.order_id, order_ids, "position")
        refund_rows = self._children(t.refunds, t.refunds.c.order_id, order_ids, "created_at")
        link_rows = self._children(
            t.gift_card_links, t.gift_card_links.c.order_id, order_ids, "position"
        )
        refund_ids = [row["id"] for group in refund_rows.values() for row in group]
        refund_line_rows: dict[Any, list[sa.RowMapping]] = {}
        history_rows: dict[Any, list[sa.RowMapping]] = {}
        if refund_ids:
            refund_line_rows = self._children(
                t.refund_lines, t.refund_lines.c.refund_id, refund_ids, "position"
            )
            history_rows = self._children(
                t.refund_status_changes, t.refund_status_changes.c.refund_id, refund_ids, "sequence"
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
                )
            )
        return orders

    def _assemble(self, row: Mapping[Any, Any], *children: Any) -> Order:
        order = rows.order_with_children(row, *children)
        self._remember(order)
        return order

    def _children(
        self, table: sa.Table, key: sa.Column[Any], ids: Iterable[Any], order_by: str
    ) -> dict[Any, list[sa.RowMapping]]:
        rows = self._connection.execute(
            sa.select(table).where(key.in_(list(ids))).order_by(key, table.c[order_by])
        ).mappings()
        grouped: dict[Any, list[sa.RowMapping]] = defaultdict(list)
        for row in rows:
            grouped[row[key.name]].append(row)
        return grouped


# Statements built once: SQLAlchemy finds their compiled SQL in its cache at once, where
# a statement built with its values (thirty of them for an order) was hashed every time.
# The SET clause is the columns the parameters name.
_UPDATE_ORDER = sa.update(t.orders).where(
    t.orders.c.id == sa.bindparam("b_id"),
    t.orders.c.merchant_id == sa.bindparam("b_merchant_id"),
    t.orders.c.version == sa.bindparam("b_version"),
)
_UPDATE_LINE = (
    sa.update(t.order_lines)
    .where(t.order_lines.c.id == sa.bindparam("line_id"))
    .values(
        fulfilled_quantity=sa.bindparam("fulfilled"), cancelled_quantity=sa.bindparam("cancelled")
    )
)


def _history_rows(order: Order, refund: Refund, *, start: int) -> list[dict[str, Any]]:
    return [
        {
            "refund_id": refund.id,
            "sequence": sequence,
            "merchant_id": order.merchant_id,
            "status": change.status.value,
            "at": change.at,
            "detail": change.detail,
        }
        for sequence, change in enumerate(refund.history)
        if sequence >= start
    ]
