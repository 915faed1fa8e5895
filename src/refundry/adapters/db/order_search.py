"""The conditions of the order searches (Customer Service, ``GET /v1/orders``, a
customer's history): shared by the page of orders and the counts beside it."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.domain.status import OrderStatus
from refundry.services.ports.repositories import OrderSort


def found_by(
    merchant_id: uuid.UUID, query: str | None, customer_email: str | None
) -> list[sa.ColumnElement[bool]]:
    """The conditions of a search: the merchant's orders that ``query`` (an order id, an
    external id or a customer e-mail) finds, of one customer when ``customer_email``."""
    o = order_tables.orders.c
    conditions: list[sa.ColumnElement[bool]] = [o.merchant_id == merchant_id]
    if customer_email is not None:
        conditions.append(sa.func.lower(o.customer_email) == customer_email.strip().lower())
    if query:
        text = query.strip()
        matches = [o.external_id == text, sa.func.lower(o.customer_email) == text.lower()]
        with contextlib.suppress(ValueError):  # not every query is an order id
            matches.append(o.id == uuid.UUID(text))
        conditions.append(sa.or_(*matches))
    return conditions


def page_of_orders(
    merchant_id: uuid.UUID,
    *,
    query: str | None,
    status: OrderStatus | None,
    sort: OrderSort,
    after: tuple[datetime | int, uuid.UUID] | None,
    limit: int,
) -> sa.Select[Any]:
    """One page of the orders a search finds, in ``sort``'s order, after the order whose
    place ``after`` gives: by keyset, the id breaking ties, so no order is skipped or
    repeated as new ones arrive."""
    o = order_tables.orders.c
    key = o.total if sort.is_by_total else o.created_at
    descending = sort in (OrderSort.NEWEST, OrderSort.HIGHEST_TOTAL)
    statement = sa.select(order_tables.orders).where(*found_by(merchant_id, query, None))
    if status is not None:
        statement = statement.where(o.status == status.value)
    if after is not None:
        value, last_id = after
        if descending:
            later = sa.or_(key < value, sa.and_(key == value, o.id < last_id))
        else:
            later = sa.or_(key > value, sa.and_(key == value, o.id > last_id))
        statement = statement.where(later)
    order_by = (key.desc(), o.id.desc()) if descending else (key.asc(), o.id.asc())
    return statement.order_by(*order_by).limit(limit)
