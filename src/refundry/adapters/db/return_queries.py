"""Finding returns: by id (for the order that holds it), and a merchant's returns (with the
cancellations' refunds, when asked) page by page, newest first, by keyset (a page never
skips or repeats a record as new ones come)."""

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


def _page_select(
    table: sa.Table,
    merchant_id: uuid.UUID,
    query: str | None,
    after: ReturnCursor | None,
    *,
    cancellations: bool,
) -> sa.Select[Any]:
    orders = order_tables.orders
    statement = sa.select(
        table.c.order_id,
        table.c.id,
        table.c.created_at,
        sa.literal(cancellations).label("is_cancellation"),
    ).where(table.c.merchant_id == merchant_id)
    if cancellations:
        statement = statement.where(table.c.kind == RefundKind.CANCELLATION.value)
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
        statement = statement.where(sa.or_(*matches))
    if after is not None:
        created_at, last_id = after
        statement = statement.where(
            sa.or_(
                table.c.created_at < created_at,
                sa.and_(table.c.created_at == created_at, table.c.id < last_id),
            )
        )
    return statement
