"""Writing orders: a new order as inserts, a changed one as only the statements its
changes need, compared with a snapshot of what the database held.

The order row is guarded by its version; line counters and gift-card links are updated
only when they changed; refunds and their status changes are appended. Refund rows are
append-only apart from their status.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import order_rows as rows
from refundry.adapters.db import return_rows
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.errors import Conflict
from refundry.domain.order import Order
from refundry.domain.refund import Refund


@dataclass
class Snapshot:
    """What the database holds of an order, as last read or written."""

    version: int
    refund_history: dict[uuid.UUID, int]  # refund id -> status changes already stored
    refund_references: dict[uuid.UUID, str | None]
    refund_points: dict[uuid.UUID, tuple[int, int]]
    links: dict[uuid.UUID, tuple[object, ...]]
    lines: dict[uuid.UUID, tuple[int, int]]  # line id -> (fulfilled, cancelled) quantities
    returns: dict[uuid.UUID, return_rows.StoredReturn]


def snapshot(order: Order) -> Snapshot:
    return Snapshot(
        version=order.version,
        refund_history={refund.id: len(refund.history) for refund in order.refunds},
        refund_references={refund.id: refund.provider_reference for refund in order.refunds},
        refund_points={
            refund.id: (refund.points_reversed, refund.points_restored) for refund in order.refunds
        },
        links={link.id: rows.link_state(link) for link in order.links},
        lines={line.id: (line.fulfilled_quantity, line.cancelled_quantity) for line in order.lines},
        returns={
            order_return.id: return_rows.stored(order_return) for order_return in order.returns
        },
    )


def insert_orders(connection: sa.Connection, orders: Sequence[Order]) -> None:
    """New orders with their children, one statement per table."""
    execute = connection.execute
    execute(sa.insert(order_tables.orders), [rows.order_row(order) for order in orders])
    execute(
        sa.insert(order_tables.order_lines),
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
        execute(sa.insert(order_tables.gift_card_links), link_rows)
    refunds = [(order, refund) for order in orders for refund in order.refunds]
    if refunds:
        insert_refunds(connection, refunds)
    for order in orders:
        _write_returns(connection, order, {})


def update_order(connection: sa.Connection, order: Order, loaded: Snapshot) -> None:
    """Write what changed in ``order`` since ``loaded``."""
    values = rows.order_row(order)
    del values["id"]
    values |= {
        "b_id": order.id,
        "b_merchant_id": order.merchant_id,
        "b_version": loaded.version,
    }
    result = connection.execute(_UPDATE_ORDER, values)
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
        connection.execute(_UPDATE_LINE, changed)
    for link in order.links:
        if rows.link_state(link) != loaded.links[link.id]:
            connection.execute(
                sa.update(order_tables.gift_card_links)
                .where(order_tables.gift_card_links.c.id == link.id)
                .values(
                    accessed_at=link.accessed_at,
                    spent=link.spent_amount.minor,
                    cancelled_at=link.cancelled_at,
                    cancel_reason=link.cancel_reason,
                )
            )
    insert_refunds(
        connection,
        [(order, refund) for refund in order.refunds if refund.id not in loaded.refund_history],
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
            connection.execute(
                sa.update(order_tables.refunds)
                .where(order_tables.refunds.c.id == refund.id)
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
            _insert_history(connection, order, refund, start=stored)
    _write_returns(connection, order, loaded.returns)


def _write_returns(
    connection: sa.Connection,
    order: Order,
    loaded: dict[uuid.UUID, return_rows.StoredReturn],
) -> None:
    """New returns as inserts; changed ones as their row, received counts and new history.
    Written after the refunds: a return names the refund that closed it."""
    for order_return in order.returns:
        before = loaded.get(order_return.id)
        now = return_rows.stored(order_return)
        if before == now:
            continue
        merchant_id = order.merchant_id
        if before is None:
            connection.execute(
                sa.insert(return_tables.returns), return_rows.return_row(merchant_id, order_return)
            )
            connection.execute(
                sa.insert(return_tables.return_lines),
                return_rows.line_rows(merchant_id, order_return),
            )
            start = 0
        else:
            row = return_rows.return_row(merchant_id, order_return)
            connection.execute(
                sa.update(return_tables.returns)
                .where(return_tables.returns.c.id == order_return.id)
                .values(
                    status=row["status"],
                    refund_id=row["refund_id"],
                    exchange_order_id=row["exchange_order_id"],
                    updated_at=row["updated_at"],
                )
            )
            changed = [
                {"b_return": order_return.id, "b_line": line.order_line_id,
                 "quantity": line.quantity, "resellable": line.resellable,
                 "damaged": line.damaged}
                for line, stored in zip(order_return.lines, before.received, strict=True)
                if (line.quantity, line.resellable, line.damaged) != stored
            ]  # fmt: skip
            if changed:
                connection.execute(_UPDATE_RETURN_LINE, changed)
            start = before.history
        history = return_rows.history_rows(merchant_id, order_return, start=start)
        if history:
            connection.execute(sa.insert(return_tables.return_status_changes), history)


def insert_refunds(connection: sa.Connection, refunds: Sequence[tuple[Order, Refund]]) -> None:
    """New refunds with their lines and status history, one statement per table."""
    if not refunds:
        return
    execute = connection.execute
    execute(
        sa.insert(order_tables.refunds),
        [rows.refund_row(order, refund) for order, refund in refunds],
    )
    line_rows = [
        rows.refund_line_row(order, refund, position, line)
        for order, refund in refunds
        for position, line in enumerate(refund.breakdown.lines)
    ]
    if line_rows:
        execute(sa.insert(order_tables.refund_lines), line_rows)
    history = [row for order, refund in refunds for row in _history_rows(order, refund, start=0)]
    execute(sa.insert(order_tables.refund_status_changes), history)


def _insert_history(connection: sa.Connection, order: Order, refund: Refund, *, start: int) -> None:
    history = _history_rows(order, refund, start=start)
    if history:
        connection.execute(sa.insert(order_tables.refund_status_changes), history)


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


# Statements built once: SQLAlchemy finds their compiled SQL in its cache at once, where
# a statement built with its values (thirty of them for an order) was hashed every time.
# The SET clause is the columns the parameters name.
_UPDATE_ORDER = sa.update(order_tables.orders).where(
    order_tables.orders.c.id == sa.bindparam("b_id"),
    order_tables.orders.c.merchant_id == sa.bindparam("b_merchant_id"),
    order_tables.orders.c.version == sa.bindparam("b_version"),
)
_UPDATE_RETURN_LINE = (
    sa.update(return_tables.return_lines)
    .where(
        return_tables.return_lines.c.return_id == sa.bindparam("b_return"),
        return_tables.return_lines.c.order_line_id == sa.bindparam("b_line"),
    )
    .values(
        quantity=sa.bindparam("quantity"),
        resellable=sa.bindparam("resellable"),
        damaged=sa.bindparam("damaged"),
    )
)
_UPDATE_LINE = (
    sa.update(order_tables.order_lines)
    .where(order_tables.order_lines.c.id == sa.bindparam("line_id"))
    .values(
        fulfilled_quantity=sa.bindparam("fulfilled"), cancelled_quantity=sa.bindparam("cancelled")
    )
)
