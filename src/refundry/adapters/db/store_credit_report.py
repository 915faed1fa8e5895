"""The summary report's store credit figures: issued and spent in each period, and what
is outstanding (the liability: every balance's sum) at each period's end."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db.tables import ledgers
from refundry.domain.reporting import Granularity, ReportRange
from refundry.domain.store_credit import StoreCreditEntryKind

Figures = MutableMapping[tuple[date, str], dict[str, int]]


def add_store_credit(
    connection: sa.Connection,
    merchant_id: uuid.UUID,
    span: ReportRange,
    granularity: Granularity,
    bucket: Callable[[Any], Any],
    figures: Figures,
) -> None:
    """Add ``store_credit_issued``, ``store_credit_spent`` and ``store_credit_outstanding``
    to the summary's rows (by period and currency), making rows for periods with store
    credit moves only. Outstanding counts expired credit until the sweep writes it off."""
    e = ledgers.store_credit_entries
    period = bucket(e.c.created_at).label("period")
    issued = sa.case((e.c.kind == StoreCreditEntryKind.ISSUED.value, e.c.amount), else_=0)
    spent = sa.case((e.c.kind == StoreCreditEntryKind.SPENT.value, -e.c.amount), else_=0)
    mine = e.c.merchant_id == merchant_id
    sums = (sa.func.sum(issued), sa.func.sum(spent), sa.func.sum(e.c.amount))
    moves = connection.execute(
        sa.select(period, e.c.currency, *sums)
        .where(mine, e.c.created_at >= span.start, e.c.created_at < span.end)
        .group_by(period, e.c.currency)
    ).all()
    opening = dict(
        connection.execute(
            sa.select(e.c.currency, sa.func.sum(e.c.amount))
            .where(mine, e.c.created_at < span.start)
            .group_by(e.c.currency)
        ).all()
    )
    net: dict[tuple[date, str], int] = {}
    for moved_in, currency, issued_sum, spent_sum, net_sum in moves:
        row = figures[(_day(moved_in), currency)]
        row["store_credit_issued"] += int(issued_sum)
        row["store_credit_spent"] += int(spent_sum)
        net[(_day(moved_in), currency)] = int(net_sum)
    outstanding = {currency: int(total) for currency, total in opening.items()}
    # A currency owed from before the range, with nothing else in it, still owes it.
    shown = {currency for _, currency in figures}
    for currency, owed in outstanding.items():
        if owed and currency not in shown:
            figures[(_first_period(span.first_day, granularity), currency)] = defaultdict(int)
    for key in sorted(figures):
        _, currency = key
        outstanding[currency] = outstanding.get(currency, 0) + net.get(key, 0)
        figures[key]["store_credit_outstanding"] = outstanding[currency]


def _first_period(first_day: date, granularity: Granularity) -> date:
    if granularity is Granularity.MONTH:
        return first_day.replace(day=1)
    if granularity is Granularity.WEEK:
        return first_day - timedelta(days=first_day.weekday())  # ISO weeks start on Monday
    return first_day


def _day(period: datetime | str) -> date:
    return period.date() if isinstance(period, datetime) else date.fromisoformat(period)
