"""Finding returns: by id (for the order that holds it), and a merchant's returns (with the
cancellations' refunds, when asked) page by page, newest first, by keyset (a page never
skips or repeats a record as new ones come), and how many a search finds of each kind."""

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
from refundry.services.ports.repositories import AfterSalesCounts

# A return's place in the newest-first list: (created_at, id).
ReturnCursor = tuple[datetime, uuid.UUID]


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
) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(order id, record id, is a cancellation) triples, newest first: returns, the refunds
    cancels made, or both (seed 001's Sales > Returns lists both). ``query`` matches the
    record's id, its order's id or external id, or the customer's e-mail (any case);
    ``status`` is a return's, so it leaves cancellations out."""
    returns, refunds = return_tables.returns, order_tables.refunds
    selects = []
    if records is not AfterSales.CANCELLATIONS:
        listed = _page_select(returns, merchant_id, query, after, cancellations=False)
        if status is not None:
            listed = listed.where(returns.c.status == status.value)
        selects.append(listed)
    if records is not AfterSales.RETURNS and status is None:
        selects.append(_page_select(refunds, merchant_id, query, after, cancellations=True))
    if not selects:
        return []
    union = sa.union_all(*selects).subquery() if len(selects) > 1 else selects[0].subquery()
    statement = (
        sa.select(union.c.order_id, union.c.id, union.c.is_cancellation)
        .order_by(union.c.created_at.desc(), union.c.id.desc())
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
    *,
    cancellations: bool,
) -> sa.Select[Any]:
    statement = sa.select(
        table.c.order_id,
        table.c.id,
        table.c.created_at,
        sa.literal(cancellations).label("is_cancellation"),
    ).where(*_found_by(table, merchant_id, query, cancellations=cancellations))
    if after is not None:
        created_at, last_id = after
        statement = statement.where(
            sa.or_(
                table.c.created_at < created_at,
                sa.and_(table.c.created_at == created_at, table.c.id < last_id),
            )
        )
    return statement


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
