"""The merchant's customers as their orders know them (the dashboard's Users list): a page
at a time by keyset, the latest orderer first, and how many a search finds."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables import orders as order_tables
from refundry.domain.reporting import CustomerRow


class SqlCustomerQueries:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def customers_page(
        self,
        merchant_id: uuid.UUID,
        query: str | None,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[CustomerRow]:
        """The customers ``query`` finds, by their latest order (newest first), then by
        e-mail, after the customer at ``after`` (last order time, e-mail): keyset, so a page
        never skips or repeats one as new orders come."""
        o = order_tables.orders.c
        last_order_at = sa.func.max(o.created_at)
        statement = (
            sa.select(
                o.customer_email,
                sa.func.max(o.customer_external_id).label("external_id"),
                sa.func.count().label("orders"),
                last_order_at.label("last_order_at"),
            )
            .where(*_found_by(merchant_id, query))
            .group_by(o.customer_email)
            .order_by(last_order_at.desc(), o.customer_email)
            .limit(limit)
        )
        if after is not None:
            at, email = after
            statement = statement.having(
                sa.or_(last_order_at < at, sa.and_(last_order_at == at, o.customer_email > email))
            )
        return [
            CustomerRow(row.customer_email, row.external_id, row.orders, utc(row.last_order_at))
            for row in self._connection.execute(statement)
        ]

    def customers_count(self, merchant_id: uuid.UUID, query: str | None) -> int:
        """How many customers (distinct e-mails) ``query`` finds."""
        o = order_tables.orders.c
        found: int = self._connection.execute(
            sa.select(sa.func.count(sa.distinct(o.customer_email))).where(
                *_found_by(merchant_id, query)
            )
        ).scalar_one()
        return found


def _found_by(merchant_id: uuid.UUID, query: str | None) -> list[sa.ColumnElement[bool]]:
    """The merchant's orders a Users search finds: ``query`` is part of an e-mail (any
    case) or a whole external id; shared by the page and its count."""
    o = order_tables.orders.c
    conditions: list[sa.ColumnElement[bool]] = [o.merchant_id == merchant_id]
    if query and query.strip():
        text = query.strip()
        conditions.append(
            sa.or_(
                sa.func.lower(o.customer_email).contains(text.lower(), autoescape=True),
                o.customer_external_id == text,
            )
        )
    return conditions
