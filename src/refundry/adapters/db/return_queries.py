"""Finding returns: by id (for the order that holds it), and a merchant's returns (with the
cancellations' refunds, when asked) page by page, by date or by amount refunded, by keyset
(a page never skips or repeats a record as new ones come), and how many a search finds of
each kind."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.refund import RefundKind
from refundry.domain.returns import AfterSales, ReturnStatus
from refundry.services.ports.repositories import AfterSalesCounts, ReturnSort

# A record's place in its sort: (created_at or amount refunded in minor units, id).
ReturnCursor = tuple[datetime | int, uuid.UUID]


def order_of_return(
    connection: sa.Connection, merchant_id: uuid.UUID, return_id: uuid.UUID
) -> uuid.UUID | None:
    returns = return_tables.returns
    found: uuid.UUID | None = connection.execute(
        sa.select(returns.c.order_id).where(
            returns.c.id == return_id, returns.c.merchant_id == merchant_id
        )
    ).scalar_one_or_none()
    return found


def returns_page(
    connection: sa.Connection,
    merchant_id: uuid.UUID,
    *,
    status: ReturnStatus | None,
    query: str | None,
    after: ReturnCursor | None,
    limit: int,
    records: AfterSales = AfterSales.RETURNS,
    sort: ReturnSort = ReturnSort.NEWEST,
) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(order id, record id, is a cancellation) triples in ``sort``'s order, ties broken by
    id: returns, the refunds cancels made, or both (seed 001's Sales > Returns lists both),
    one keyset over the union of the two tables. ``query`` matches the record's id, its
    order's id or external id, or the customer's e-mail (any case); ``status`` is a
    return's, so it leaves cancellations out."""
    returns, refunds = return_tables.returns, order_tables.refunds
    selects = []
    if records is not AfterSales.CANCELLATIONS:
        listed = _page_select(returns, merchant_id, query, after, sort, cancellations=False)
        if status is not None:
            listed = listed.where(returns.c.status == status.value)
        selects.append(listed)
    if records is not AfterSales.RETURNS and status is None:
        selects.append(_page_select(refunds, merchant_id, query, after, sort, cancellations=True))
    if not selects:
        return []
    union = sa.union_all(*selects).subquery() if len(selects) > 1 else selects[0].subquery()
    statement = (
        sa.select(union.c.order_id, union.c.id, union.c.is_cancellation)
        .order_by(_ordered(sort, union.c.place), _ordered(sort, union.c.id))
        .limit(limit)
    )
    return [
        (row.order_id, row.id, bool(row.is_cancellation)) for row in connection.execute(statement)
    ]


def after_sales_counts(
    connection: sa.Connection, merchant_id: uuid.UUID, query: str | None
) -> AfterSalesCounts:
    """How many returns ``query`` finds in each status, and how many cancellation refunds:
    one statement (a grouped count and a count, as one union), for the list's tabs."""
    returns, refunds = return_tables.returns, order_tables.refunds
    by_status = (
        sa.select(returns.c.status.label("status"), sa.func.count().label("found"))
        .where(*_found_by(returns, merchant_id, query, cancellations=False))
        .group_by(returns.c.status)
    )
    cancellations = sa.select(
        sa.literal(None, sa.String).label("status"), sa.func.count().label("found")
    ).where(*_found_by(refunds, merchant_id, query, cancellations=True))
    counts = AfterSalesCounts()
    for status, found in connection.execute(sa.union_all(by_status, cancellations)):
        if status is None:
            counts = AfterSalesCounts(counts.returns, found)
        else:
            counts.returns[ReturnStatus(status)] = found
    return counts


def _page_select(
    table: sa.Table,
    merchant_id: uuid.UUID,
    query: str | None,
    after: ReturnCursor | None,
    sort: ReturnSort,
    *,
    cancellations: bool,
) -> sa.Select[Any]:
    place = _place(table, sort, cancellations=cancellations)
    statement = sa.select(
        table.c.order_id,
        table.c.id,
        place.label("place"),
        sa.literal(cancellations).label("is_cancellation"),
    ).where(*_found_by(table, merchant_id, query, cancellations=cancellations))
    if after is not None:  # each table's rows past the cursor, so the union pages as one
        value, last_id = after
        beyond = place > value if _ascending(sort) else place < value
        later = table.c.id > last_id if _ascending(sort) else table.c.id < last_id
        statement = statement.where(sa.or_(beyond, sa.and_(place == value, later)))
    return statement


def _place(table: sa.Table, sort: ReturnSort, *, cancellations: bool) -> sa.ColumnElement[Any]:
    """What ``sort`` orders a record by: when it was made, or the amount it refunded (a
    cancellation's own; a return's refund's, 0 until it is refunded)."""
    if not sort.is_by_amount:
        return table.c.created_at
    if cancellations:
        return table.c.amount
    refunds = order_tables.refunds
    refunded = sa.select(refunds.c.amount).where(refunds.c.id == table.c.refund_id)
    return sa.func.coalesce(refunded.scalar_subquery(), sa.literal(0, sa.BigInteger))


def _ascending(sort: ReturnSort) -> bool:
    return sort in (ReturnSort.OLDEST, ReturnSort.LOWEST_AMOUNT)


def _ordered(sort: ReturnSort, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return column.asc() if _ascending(sort) else column.desc()


def _found_by(
    table: sa.Table, merchant_id: uuid.UUID, query: str | None, *, cancellations: bool
) -> list[sa.ColumnElement[bool]]:
    """The conditions of a search of returns (or cancellation refunds): shared by the page
    and the counts beside it, so the two never disagree."""
    orders = order_tables.orders
    conditions: list[sa.ColumnElement[bool]] = [table.c.merchant_id == merchant_id]
    if cancellations:
        conditions.append(table.c.kind == RefundKind.CANCELLATION.value)
    if query and query.strip():
        text = query.strip()
        order_matches = [
            orders.c.external_id == text,
            sa.func.lower(orders.c.customer_email) == text.lower(),
        ]
        matches: list[sa.ColumnElement[bool]] = []
        with contextlib.suppress(ValueError):  # not every query is an id
            wanted = uuid.UUID(text)
            order_matches.append(orders.c.id == wanted)
            matches.append(table.c.id == wanted)
        matching_orders = sa.select(orders.c.id).where(
            orders.c.merchant_id == merchant_id, sa.or_(*order_matches)
        )
        matches.append(table.c.order_id.in_(matching_orders))
        conditions.append(sa.or_(*matches))
    return conditions
