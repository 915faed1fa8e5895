"""The conditions of the order searches (Customer Service, ``GET /v1/orders``, a
customer's history): shared by the page of orders and the counts beside it."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables


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
