"""Report figures, aggregated by the database (never by loading orders into Python).

Periods are cut in the merchant's time zone: PostgreSQL does it natively
(``date_trunc`` on ``timezone(tz, ts)``); on SQLite the engine registers
``refundry_bucket`` (see ``engine.py``), which does the same with Python's zoneinfo.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.order_rows import aware
from refundry.adapters.db.return_report import add_returned_units, add_returns, return_reasons
from refundry.adapters.db.store_credit_report import add_store_credit
from refundry.adapters.db.tables import orders as order_tables
from refundry.domain.refund import RefundKind, RefundStatus
from refundry.domain.reporting import (
    NO_REASON,
    SUMMARY_FIGURES,
    Granularity,
    ItemRow,
    ReasonRow,
    RefundFilters,
    RefundReportRow,
    ReportRange,
    SummaryRow,
)

SETTLED = (RefundStatus.COMPLETED.value, RefundStatus.NOT_REQUESTED.value)


SORTS = {
    "created_at": (order_tables.refunds.c.created_at, order_tables.refunds.c.id),
    "-created_at": (order_tables.refunds.c.created_at.desc(), order_tables.refunds.c.id.desc()),
    "amount": (order_tables.refunds.c.amount, order_tables.refunds.c.id),
    "-amount": (order_tables.refunds.c.amount.desc(), order_tables.refunds.c.id.desc()),
}


class SqlReportQueries:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def _analytic(self) -> None:
        """Aggregations over a year of orders: give this transaction room to hash and
        sort in memory rather than on disk (PostgreSQL's default is 4 MB)."""
        if self._connection.dialect.name == "postgresql":
            self._connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")

    def _bucket(self, column: Any, timezone: str, granularity: Granularity) -> Any:
        if self._connection.dialect.name == "postgresql":
            # Grouping on the truncated timestamp itself (formatting only the result rows)
            # lets PostgreSQL hash-aggregate instead of sorting every row by a string.
            return sa.func.date_trunc(granularity.value, sa.func.timezone(timezone, column))
        return sa.func.refundry_bucket(column, timezone, granularity.value)

    # ----------------------------------------------------------------- summary
    def summary(
        self, merchant_id: uuid.UUID, span: ReportRange, granularity: Granularity
    ) -> list[SummaryRow]:
        self._analytic()
        o, r = order_tables.orders, order_tables.refunds
        sales_period = self._bucket(o.c.created_at, span.timezone, granularity).label("period")
        sales = self._connection.execute(
            sa.select(
                sales_period,
                o.c.currency,
                sa.func.count(),
                sa.func.sum(o.c.subtotal),
                sa.func.sum(o.c.discount),
                sa.func.sum(o.c.tax + o.c.shipping_tax),
                sa.func.sum(o.c.shipping_amount),
            )
            .where(
                o.c.merchant_id == merchant_id,
                o.c.created_at >= span.start,
                o.c.created_at < span.end,
                o.c.captured > 0,
            )
            .group_by(sales_period, o.c.currency)
        ).all()
        refund_period = self._bucket(r.c.settled_at, span.timezone, granularity).label("period")
        refunds = self._connection.execute(
            sa.select(
                refund_period,
                r.c.currency,
                r.c.kind,
                sa.func.count(),
                sa.func.sum(r.c.amount),
                sa.func.sum(r.c.subtotal - r.c.discount + r.c.goodwill + r.c.adjustment - r.c.fees),
                sa.func.sum(r.c.tax),
                sa.func.sum(r.c.shipping),
            )
            .where(
                r.c.merchant_id == merchant_id,
                r.c.settled_at >= span.start,
                r.c.settled_at < span.end,
            )
            .group_by(refund_period, r.c.currency, r.c.kind)
        ).all()
        figures: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for period, currency, count, gross, discounts, tax, shipping in sales:
            row = figures[(_day(period), currency)]
            row |= {"orders": count, "gross_sales": int(gross), "discounts": int(discounts)}
            row |= {"tax": int(tax), "shipping": int(shipping)}
        for period, currency, kind, count, amount, sales_part, tax, shipping in refunds:
            row = figures[(_day(period), currency)]
            prefix = "cancellation" if kind == RefundKind.CANCELLATION.value else "refund"
            row["cancellations" if prefix == "cancellation" else "refunds"] += int(amount)
            row[f"{prefix}_count"] += count
            row["refunded_sales"] += int(sales_part)
            row["refunded_tax"] += int(tax)
            row["refunded_shipping"] += int(shipping)
        bucket = partial(self._bucket, timezone=span.timezone, granularity=granularity)
        add_store_credit(self._connection, merchant_id, span, granularity, bucket, figures)
        add_returns(self._connection, merchant_id, span, bucket, figures)
        return [
            SummaryRow(period, currency, **{name: values[name] for name in SUMMARY_FIGURES})
            for (period, currency), values in sorted(figures.items())
        ]

    # ------------------------------------------------------------------- items
    def items(self, merchant_id: uuid.UUID, span: ReportRange) -> list[ItemRow]:
        self._analytic()
        o, line, r, rl = (
            order_tables.orders,
            order_tables.order_lines,
            order_tables.refunds,
            order_tables.refund_lines,
        )
        sold = self._connection.execute(
            sa.select(
                line.c.sku,
                o.c.currency,
                # Units cancelled before the capture were never sold (docs/reports.md).
                sa.func.sum(line.c.quantity - line.c.voided_quantity),
                sa.func.sum(line.c.unit_price * (line.c.quantity - line.c.voided_quantity)),
                sa.func.sum(line.c.discount - line.c.voided_discount),
            )
            .join(o, o.c.id == line.c.order_id)
            .where(
                o.c.merchant_id == merchant_id,
                o.c.created_at >= span.start,
                o.c.created_at < span.end,
                o.c.captured > 0,
            )
            .group_by(line.c.sku, o.c.currency)
        ).all()
        returned = self._connection.execute(
            sa.select(
                line.c.sku,
                r.c.currency,
                r.c.kind,
                sa.func.sum(rl.c.quantity),
                sa.func.sum(rl.c.subtotal - rl.c.discount),
            )
            .join(r, r.c.id == rl.c.refund_id)
            .join(line, line.c.id == rl.c.order_line_id)
            .where(
                r.c.merchant_id == merchant_id,
                r.c.settled_at >= span.start,
                r.c.settled_at < span.end,
            )
            .group_by(line.c.sku, r.c.currency, r.c.kind)
        ).all()
        figures: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for sku, currency, units, gross, discounts in sold:
            row = figures[(sku, currency)]
            row |= {"units_sold": int(units), "gross": int(gross), "discounts": int(discounts)}
        for sku, currency, kind, units, amount in returned:
            row = figures[(sku, currency)]
            cancelled = kind == RefundKind.CANCELLATION.value
            row["units_cancelled" if cancelled else "units_refunded"] += int(units)
            row["refunds"] += int(amount)
        add_returned_units(self._connection, merchant_id, span, figures)
        return [
            ItemRow(
                sku=sku,
                currency=currency,
                units_sold=values["units_sold"],
                units_cancelled=values["units_cancelled"],
                units_refunded=values["units_refunded"],
                gross=values["gross"],
                discounts=values["discounts"],
                refunds=values["refunds"],
                units_returned=values["units_returned"],
            )
            for (sku, currency), values in sorted(figures.items())
        ]

    # ----------------------------------------------------------------- reasons
    def reasons(self, merchant_id: uuid.UUID, span: ReportRange) -> list[ReasonRow]:
        self._analytic()
        r = order_tables.refunds
        rows = self._connection.execute(
            sa.select(
                r.c.reason_key,
                sa.func.min(r.c.reason),
                r.c.kind,
                r.c.currency,
                sa.func.count(),
                sa.func.sum(r.c.amount),
            )
            .where(
                r.c.merchant_id == merchant_id,
                r.c.created_at >= span.start,
                r.c.created_at < span.end,
                r.c.status != RefundStatus.FAILED.value,
            )
            .group_by(r.c.reason_key, r.c.kind, r.c.currency)
            .order_by(sa.func.count().desc(), sa.func.sum(r.c.amount).desc(), r.c.reason_key)
        ).all()
        return [
            ReasonRow(
                reason=(example or "").strip() or NO_REASON if key else NO_REASON,
                kind=kind,
                currency=currency,
                count=count,
                amount=int(amount),
            )
            for key, example, kind, currency, count, amount in rows
        ] + return_reasons(self._connection, merchant_id, span)

    # ----------------------------------------------------------------- refunds
    @staticmethod
    def _refund_conditions(
        merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters
    ) -> list[Any]:
        r = order_tables.refunds
        conditions: list[Any] = [
            r.c.merchant_id == merchant_id,
            r.c.created_at >= span.start,
            r.c.created_at < span.end,
        ]
        if filters.statuses:
            conditions.append(r.c.status.in_(filters.statuses))
        if filters.methods:
            conditions.append(r.c.method.in_(filters.methods))
        if filters.reason:
            escaped = filters.reason.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(r.c.reason_key.like(f"%{escaped}%", escape="\\"))
        if filters.staff:
            conditions.append(r.c.created_by == filters.staff)
        return conditions

    def _refund_query(
        self, merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters
    ) -> sa.Select[Any]:
        r, o, line, rl = (
            order_tables.refunds,
            order_tables.orders,
            order_tables.order_lines,
            order_tables.refund_lines,
        )
        item = line.c.sku + sa.literal(" x") + sa.cast(rl.c.quantity, sa.String)
        items = (
            sa.select(sa.func.aggregate_strings(item, "; "))
            .select_from(rl.join(line, line.c.id == rl.c.order_line_id))
            .where(rl.c.refund_id == r.c.id)
            .scalar_subquery()
        )
        return (
            sa.select(
                r.c.id,
                r.c.order_id,
                o.c.external_id,
                o.c.customer_email,
                sa.func.coalesce(items, "").label("items"),
                r.c.currency,
                r.c.amount,
                r.c.tax,
                (r.c.shipping + r.c.shipping_tax).label("shipping"),
                r.c.kind,
                r.c.method,
                r.c.status,
                r.c.reason,
                r.c.created_by,
                r.c.created_at,
                r.c.completed_at,
                o.c.payment_method,
            )
            .join(o, o.c.id == r.c.order_id)
            .where(*self._refund_conditions(merchant_id, span, filters))
        )

    def refunds_count(
        self, merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters
    ) -> int:
        # Every filter is on the refund itself: no join, no item strings to count rows.
        count: int = self._connection.execute(
            sa.select(sa.func.count())
            .select_from(order_tables.refunds)
            .where(*self._refund_conditions(merchant_id, span, filters))
        ).scalar_one()
        return count

    def refunds_page(
        self,
        merchant_id: uuid.UUID,
        span: ReportRange,
        filters: RefundFilters,
        *,
        sort: str,
        limit: int,
        offset: int,
    ) -> list[RefundReportRow]:
        query = self._refund_query(merchant_id, span, filters).order_by(*SORTS[sort])
        rows = self._connection.execute(query.limit(limit).offset(offset)).all()
        return [_report_row(row) for row in rows]

    def refunds_stream(
        self, merchant_id: uuid.UUID, span: ReportRange, filters: RefundFilters, *, sort: str
    ) -> Iterator[RefundReportRow]:
        """Every matching row, fetched in batches through a server-side cursor."""
        query = self._refund_query(merchant_id, span, filters).order_by(*SORTS[sort])
        result = self._connection.execution_options(stream_results=True, yield_per=1000).execute(
            query
        )
        for row in result:
            yield _report_row(row)


def _day(period: datetime | str) -> date:
    """A period start as PostgreSQL (a timestamp) or SQLite (YYYY-MM-DD) returns it."""
    return period.date() if isinstance(period, datetime) else date.fromisoformat(period)


def _report_row(row: sa.Row[Any]) -> RefundReportRow:
    return RefundReportRow(
        id=row.id,
        order_id=row.order_id,
        external_id=row.external_id,
        customer_email=row.customer_email,
        items=row.items,
        currency=row.currency,
        amount=row.amount,
        tax=row.tax,
        shipping=row.shipping,
        kind=row.kind,
        method=row.method,
        status=row.status,
        reason=row.reason,
        created_by=row.created_by,
        created_at=aware(row.created_at) or row.created_at,
        completed_at=aware(row.completed_at),
        payment_method=row.payment_method,
    )
