"""Finding returns: by id (for the order that holds it), and a merchant's returns page by
page, newest first, by keyset (a page never skips or repeats a return as new ones come)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.returns import ReturnStatus

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
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(order id, return id) pairs, newest first. ``query`` matches the return's id, its
    order's id or external id, or the customer's e-mail (any case)."""
    returns, orders = return_tables.returns, order_tables.orders
    statement = sa.select(returns.c.order_id, returns.c.id).where(
        returns.c.merchant_id == merchant_id
    )
    if status is not None:
        statement = statement.where(returns.c.status == status.value)
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
            matches.append(returns.c.id == wanted)
        matching_orders = sa.select(orders.c.id).where(
            orders.c.merchant_id == merchant_id, sa.or_(*order_matches)
        )
        matches.append(returns.c.order_id.in_(matching_orders))
        statement = statement.where(sa.or_(*matches))
    if after is not None:
        created_at, last_id = after
        statement = statement.where(
            sa.or_(
                returns.c.created_at < created_at,
                sa.and_(returns.c.created_at == created_at, returns.c.id < last_id),
            )
        )
    statement = statement.order_by(returns.c.created_at.desc(), returns.c.id.desc()).limit(limit)
    return [(row.order_id, row.id) for row in connection.execute(statement)]
