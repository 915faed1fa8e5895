"""Writing orders: a new order as inserts, a changed one as only the statements its
changes need, compared with a snapshot of what the database held.

The order row is guarded by its version; line counters and gift-card links are updated
only when they changed; refunds and their status changes are appended. Refund rows are
append-only apart from their status.

A change's writes are held by the unit of work and sent together at its commit
(``pending_writes``); a new order's own row and lines are inserted at once, so that a
taken external id is known where the order is added.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import order_rows as rows
from refundry.adapters.db import return_rows
from refundry.adapters.db.pending_writes import insert_later, update_later, update_rows_later
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
    lines: dict[uuid.UUID, dict[str, int]]  # line id -> its counters (rows.line_counters)
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
        lines={line.id: rows.line_counters(line) for line in order.lines},
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
    update_later(
        connection,
        order_tables.orders,
        values,
        where={"id": order.id, "merchant_id": order.merchant_id, "version": loaded.version},
        expect_rows=1,
        # Cannot happen under the row lock; if it does, refuse rather than overwrite.
        mismatch=lambda: Conflict(f"order {order.id} was changed concurrently; retry the request"),
    )
    # Only the lines that changed (a partial refund changes none of them), all at once.
    changed = [
        {"id": line.id, **counters}
        for line in order.lines
        if (counters := rows.line_counters(line)) != loaded.lines.get(line.id)
    ]
    update_rows_later(connection, order_tables.order_lines, changed, keys=["id"])
    for link in order.links:
        if rows.link_state(link) != loaded.links[link.id]:
            update_later(
                connection,
                order_tables.gift_card_links,
                {
                    "accessed_at": link.accessed_at,
                    "spent": link.spent_amount.minor,
                    "cancelled_at": link.cancelled_at,
                    "cancel_reason": link.cancel_reason,
                    "cancelled_by": link.cancelled_by,
                },
                where={"id": link.id},
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
            update_later(
                connection,
                order_tables.refunds,
                {
                    "status": refund.status.value,
                    "completed_at": refund.completed_at,
                    "settled_at": rows.settled_at(refund),
                    "failure_reason": refund.failure_reason,
                    "provider_reference": refund.provider_reference,
                    "points_reversed": refund.points_reversed,
                    "points_restored": refund.points_restored,
                },
                where={"id": refund.id},
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
            insert_later(
                connection,
                return_tables.returns,
                [return_rows.return_row(merchant_id, order_return)],
            )
            insert_later(
                connection,
                return_tables.return_lines,
                return_rows.line_rows(merchant_id, order_return),
            )
            start = 0
        else:
            row = return_rows.return_row(merchant_id, order_return)
            update_later(
                connection,
                return_tables.returns,
                {
                    "status": row["status"],
                    "refund_id": row["refund_id"],
                    "exchange_order_id": row["exchange_order_id"],
                    "updated_at": row["updated_at"],
                },
                where={"id": order_return.id},
            )
            changed = [
                {"return_id": order_return.id, "order_line_id": line.order_line_id,
                 "quantity": line.quantity, "resellable": line.resellable,
                 "damaged": line.damaged}
                for line, stored in zip(order_return.lines, before.received, strict=True)
                if (line.quantity, line.resellable, line.damaged) != stored
            ]  # fmt: skip
            update_rows_later(
                connection, return_tables.return_lines, changed, keys=["return_id", "order_line_id"]
            )
            start = before.history
        history = return_rows.history_rows(merchant_id, order_return, start=start)
        insert_later(connection, return_tables.return_status_changes, history)


def insert_refunds(connection: sa.Connection, refunds: Sequence[tuple[Order, Refund]]) -> None:
    """New refunds with their lines and status history, one statement per table."""
    if not refunds:
        return
    insert_later(
        connection,
        order_tables.refunds,
        [rows.refund_row(order, refund) for order, refund in refunds],
    )
    line_rows = [
        rows.refund_line_row(order, refund, position, line)
        for order, refund in refunds
        for position, line in enumerate(refund.breakdown.lines)
    ]
    insert_later(connection, order_tables.refund_lines, line_rows)
    history = [row for order, refund in refunds for row in _history_rows(order, refund, start=0)]
    insert_later(connection, order_tables.refund_status_changes, history)


def _insert_history(connection: sa.Connection, order: Order, refund: Refund, *, start: int) -> None:
    history = _history_rows(order, refund, start=start)
    insert_later(connection, order_tables.refund_status_changes, history)


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
