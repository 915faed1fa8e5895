"""The reports' return figures (beside ``report_queries``, at its module limit).

- Summary: ``returns`` created in each period, the ``units_returned`` (received, resellable
  or damaged) of those returns, and the ``fees_kept`` by refunds settled in the period.
- Items: ``units_returned`` per SKU, of the returns created in the range.
- Reasons: each return line's reason, as kind ``return``: the units that came back for it
  (declined and cancelled returns have none) and the value their refund gave back for those
  units before the return's fees (once refunded, the refund not failed). These rows break
  the returns' refunds down by cause: the same money is in the refund rows too.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import returns as return_tables
from refundry.domain.refund import RefundStatus
from refundry.domain.reporting import NO_REASON, ReasonRow, ReportRange, reason_key
from refundry.domain.returns import ReturnStatus

Figures = MutableMapping[tuple[date, str], dict[str, int]]
SkuFigures = MutableMapping[tuple[str, str], dict[str, int]]

RETURN_REASON_KIND = "return"


def add_returns(
    connection: sa.Connection,
    merchant_id: uuid.UUID,
    span: ReportRange,
    bucket: Callable[[Any], Any],
    figures: Figures,
) -> None:
    """Add ``returns``, ``units_returned`` and ``fees_kept`` to the summary's rows."""
    rt, rl, r = return_tables.returns, return_tables.return_lines, order_tables.refunds
    period = bucket(rt.c.created_at).label("period")
    units = (
        sa.select(sa.func.coalesce(sa.func.sum(rl.c.resellable + rl.c.damaged), 0))
        .where(rl.c.return_id == rt.c.id)
        .scalar_subquery()
    )
    created = connection.execute(
        sa.select(period, rt.c.currency, sa.func.count(), sa.func.sum(units))
        .where(
            rt.c.merchant_id == merchant_id,
            rt.c.created_at >= span.start,
            rt.c.created_at < span.end,
        )
        .group_by(period, rt.c.currency)
    ).all()
    for created_in, currency, count, received in created:
        row = figures[(_day(created_in), currency)]
        row["returns"] += count
        row["units_returned"] += int(received or 0)
    settled = bucket(r.c.settled_at).label("period")
    fees = connection.execute(
        sa.select(settled, r.c.currency, sa.func.sum(r.c.fees))
        .where(
            r.c.merchant_id == merchant_id,
            r.c.settled_at >= span.start,
            r.c.settled_at < span.end,
            r.c.fees != 0,
        )
        .group_by(settled, r.c.currency)
    ).all()
    for settled_in, currency, kept in fees:
        figures[(_day(settled_in), currency)]["fees_kept"] += int(kept)


def add_returned_units(
    connection: sa.Connection, merchant_id: uuid.UUID, span: ReportRange, figures: SkuFigures
) -> None:
    """Add ``units_returned`` per SKU and currency to the items report's rows."""
    rt, rl, line = return_tables.returns, return_tables.return_lines, order_tables.order_lines
    rows = connection.execute(
        sa.select(line.c.sku, rt.c.currency, sa.func.sum(rl.c.resellable + rl.c.damaged))
        .join(rt, rt.c.id == rl.c.return_id)
        .join(line, line.c.id == rl.c.order_line_id)
        .where(
            rt.c.merchant_id == merchant_id,
            rt.c.created_at >= span.start,
            rt.c.created_at < span.end,
        )
        .group_by(line.c.sku, rt.c.currency)
    ).all()
    for sku, currency, received in rows:
        if received:
            figures[(sku, currency)]["units_returned"] += int(received)


def return_reasons(
    connection: sa.Connection, merchant_id: uuid.UUID, span: ReportRange
) -> list[ReasonRow]:
    """Return lines' reasons, grouped as people mean them (``reason_key``): units returned
    for each, and what the returns' refunds gave back for those lines."""
    rt, rl = return_tables.returns, return_tables.return_lines
    r, fl = order_tables.refunds, order_tables.refund_lines
    refunded = sa.case(
        (r.c.status != RefundStatus.FAILED.value, fl.c.subtotal - fl.c.discount + fl.c.tax),
        else_=0,
    )
    rows = connection.execute(
        sa.select(
            rl.c.reason,
            rt.c.currency,
            rl.c.resellable + rl.c.damaged,
            sa.func.coalesce(refunded, 0),
        )
        .join(rt, rt.c.id == rl.c.return_id)
        .outerjoin(r, r.c.id == rt.c.refund_id)
        .outerjoin(
            fl, sa.and_(fl.c.refund_id == rt.c.refund_id, fl.c.order_line_id == rl.c.order_line_id)
        )
        .where(
            rt.c.merchant_id == merchant_id,
            rt.c.created_at >= span.start,
            rt.c.created_at < span.end,
            rt.c.status.not_in((ReturnStatus.DECLINED.value, ReturnStatus.CANCELLED.value)),
            rl.c.resellable + rl.c.damaged > 0,
        )
    ).all()
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(lambda: ["", 0, 0])
    for reason, currency, quantity, amount in rows:
        group = grouped[(reason_key(reason), currency)]
        group[0] = group[0] or (reason or "").strip()
        group[1] += quantity
        group[2] += int(amount)
    return [
        ReasonRow(
            reason=example or NO_REASON,
            kind=RETURN_REASON_KIND,
            currency=currency,
            count=count,
            amount=amount,
        )
        for (_, currency), (example, count, amount) in sorted(
            grouped.items(), key=lambda item: (-item[1][1], -item[1][2], item[0])
        )
    ]


def _day(period: datetime | str) -> date:
    return period.date() if isinstance(period, datetime) else date.fromisoformat(period)
