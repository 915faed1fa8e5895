"""Reading an order and all its children in one statement.

Each child table comes back in the order's own row as a JSON array of rows, each row an
array of the table's columns in table order, decoded here with the column types. Every
statement is a round trip to the database, and round trips were most of a refund's time
on PostgreSQL (py-spy): loading an order took 4 statements, 6 once it had refunds.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.adapters.db.tables import webhooks as webhook_tables

ChildRows = list[dict[str, Any]]

CHILD_TABLES: dict[str, sa.Table] = {
    "_lines": order_tables.order_lines,
    "_refunds": order_tables.refunds,
    "_refund_lines": order_tables.refund_lines,
    "_history": order_tables.refund_status_changes,
    "_links": order_tables.gift_card_links,
    "_returns": return_tables.returns,
    "_return_lines": return_tables.return_lines,
    "_return_history": return_tables.return_status_changes,
}


def load_row(
    connection: sa.Connection, merchant_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool
) -> Mapping[Any, Any] | None:
    """The order's row with its children's JSON columns; locked ``FOR UPDATE`` if asked.

    On PostgreSQL a statement reads as of its start, and a ``FOR UPDATE`` that waited for
    another transaction's lock sees that transaction's version of the order row but not
    of the children it wrote. So the statement also reads the order's version as of its
    start: if the lock found a newer one, the children are read again, by a second
    statement, which sees every committed change. Every change to an order's children
    also changes its version (the repository's ``persist`` writes children only with the
    versioned update of the order), so equal versions mean the children are current.
    SQLite's writers hold the database's lock from their first statement: nothing to
    catch up with there.

    A locked load also reads the order's last webhook sequence number
    (``_webhook_sequence``), with the children and under the same rule: a change that
    writes webhook events for an order also changes its version (the repository hands
    over no event of an order whose row the change did not write).
    """
    dialect = connection.dialect.name
    ids = {"order_id": order_id, "merchant_id": merchant_id}
    found = connection.execute(_load_statement(dialect, lock), ids).mappings().first()
    if found is None:
        return None
    row: Mapping[Any, Any] = found
    if row.get("_snapshot_version", row["version"]) != row["version"]:
        current = connection.execute(_children_statement(dialect), ids).mappings()
        row = {**row, **current.one()}
    return row


# Built once (per dialect): SQLAlchemy then finds the compiled SQL in its cache at once
# rather than building and hashing five subqueries for every order read.
@functools.cache
def _load_statement(dialect: str, lock: bool) -> sa.Select[Any]:
    query = sa.select(order_tables.orders, *children_columns(dialect)).where(
        order_tables.orders.c.id == sa.bindparam("order_id"),
        order_tables.orders.c.merchant_id == sa.bindparam("merchant_id"),
    )
    if lock:
        query = query.with_for_update(of=order_tables.orders).add_columns(_LAST_WEBHOOK_SEQUENCE)
        if dialect == "postgresql":
            query = query.add_columns(_SNAPSHOT_VERSION)
    return query


@functools.cache
def _children_statement(dialect: str) -> sa.Select[Any]:
    return sa.select(*children_columns(dialect), _LAST_WEBHOOK_SEQUENCE).where(
        order_tables.orders.c.id == sa.bindparam("order_id"),
        order_tables.orders.c.merchant_id == sa.bindparam("merchant_id"),
    )


def children(row: Mapping[Any, Any]) -> tuple[Any, ...]:
    """Lines, refunds, refund lines and history by refund id, links, returns, and return
    lines and history by return id, each in order (``order_with_children``'s arguments)."""
    return (
        _decoded(row, "_lines", "position"),
        _decoded(row, "_refunds", "created_at"),
        _grouped(_decoded(row, "_refund_lines", "position"), "refund_id"),
        _grouped(_decoded(row, "_history", "sequence"), "refund_id"),
        _decoded(row, "_links", "position"),
        _decoded(row, "_returns", "created_at"),
        _grouped(_decoded(row, "_return_lines", "position"), "return_id"),
        _grouped(_decoded(row, "_return_history", "sequence"), "return_id"),
    )


def children_columns(dialect: str) -> list[sa.Label[Any]]:
    """Scalar subqueries, correlated with ``orders``, for each of CHILD_TABLES."""
    o, r, rt = order_tables.orders, order_tables.refunds, return_tables.returns
    by_order = {
        "_lines": order_tables.order_lines.c.order_id == o.c.id,
        "_refunds": r.c.order_id == o.c.id,
        "_links": order_tables.gift_card_links.c.order_id == o.c.id,
        "_returns": rt.c.order_id == o.c.id,
    }
    by_return = {"_return_lines", "_return_history"}
    columns = []
    for label, table in CHILD_TABLES.items():
        values = list(table.c)
        if dialect == "postgresql":
            aggregate = sa.func.json_agg(sa.func.json_build_array(*values))
        else:
            aggregate = sa.func.json_group_array(sa.func.json_array(*values))
        query = sa.select(aggregate)
        if label in by_order:
            query = query.where(by_order[label])
        elif label in by_return:  # return lines and history belong to the order's returns
            query = query.select_from(table.join(rt, rt.c.id == table.c.return_id)).where(
                rt.c.order_id == o.c.id
            )
        else:  # refund lines and history belong to the order's refunds
            query = query.select_from(table.join(r, r.c.id == table.c.refund_id)).where(
                r.c.order_id == o.c.id
            )
        columns.append(query.scalar_subquery().label(label))
    return columns


# The number of the order's last webhook event (None: none yet), read with the lock so a
# change that publishes reads no number of its own (``SqlWebhookEventRepository``).
_events = webhook_tables.webhook_events
_LAST_WEBHOOK_SEQUENCE = (
    sa.select(sa.func.max(_events.c.sequence))
    .where(_events.c.order_id == order_tables.orders.c.id)
    .scalar_subquery()
    .label("_webhook_sequence")
)

# The order's version as the statement's snapshot saw it (see ``load_row``).
_snapshot = order_tables.orders.alias("snapshot")
_SNAPSHOT_VERSION = (
    sa.select(_snapshot.c.version)
    .where(_snapshot.c.id == order_tables.orders.c.id)
    .scalar_subquery()
    .label("_snapshot_version")
)


def _json_time(value: str | None) -> datetime | None:
    # PostgreSQL writes an offset in the session's time zone; SQLite stores UTC without one.
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


def _as_stored(value: Any) -> Any:
    return value  # numbers and text come back as they are stored


def _converter(column: sa.Column[Any]) -> Callable[[Any], Any]:
    if isinstance(column.type, sa.Uuid):
        return _json_uuid
    if isinstance(column.type, sa.DateTime):
        return _json_time
    return _as_stored


_DECODERS = {
    label: [(column.name, _converter(column)) for column in table.c]
    for label, table in CHILD_TABLES.items()
}


def _decoded(row: Mapping[Any, Any], label: str, order_by: str) -> ChildRows:
    value = row[label]
    items = [] if value is None else json.loads(value) if isinstance(value, str) else value
    decoders = _DECODERS[label]
    decoded = [
        {name: convert(item) for (name, convert), item in zip(decoders, values, strict=True)}
        for values in items
    ]
    decoded.sort(key=lambda child: child[order_by])
    return decoded


def _grouped(rows: ChildRows, key: str) -> dict[Any, ChildRows]:
    grouped: dict[Any, ChildRows] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped
