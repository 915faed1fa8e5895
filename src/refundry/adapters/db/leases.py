"""Leasing due rows from a work queue table (the outbox, webhook deliveries).

A queue table has ``state``, ``run_after``, ``leased_until`` and ``attempts`` columns.
On PostgreSQL ``SKIP LOCKED`` lets workers lease side by side without waiting for or
taking each other's rows; on SQLite the write transaction is already exclusive. A lease
that runs out (its worker died) makes the row due again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa


def lease_due_rows(
    connection: sa.Connection,
    table: sa.Table,
    *,
    pending: str,
    now: datetime,
    limit: int,
    lease_until: datetime,
    first: sa.ColumnElement[Any] | None = None,
) -> list[Mapping[str, Any]]:
    """Take up to ``limit`` due rows until ``lease_until``, oldest due first (those for
    which ``first`` is true before the others, if given); rows come back as leased
    (``attempts`` counting this one). One statement on PostgreSQL."""
    c = table.c
    order = [c.run_after] if first is None else [sa.case((first, 0), else_=1), c.run_after]
    due = (
        sa.select(c.id)
        .where(
            c.state == pending,
            c.run_after <= now,
            sa.or_(c.leased_until.is_(None), c.leased_until <= now),
        )
        .order_by(*order)
        .limit(limit)
    )
    lease = {"leased_until": lease_until, "attempts": c.attempts + 1}
    if connection.dialect.name == "postgresql":
        picked = due.with_for_update(skip_locked=True).cte("due")
        leased = connection.execute(
            sa.update(table).where(c.id == picked.c.id).values(**lease).returning(*c)
        ).mappings()
        return sorted((dict(row) for row in leased), key=lambda row: row["run_after"])
    rows = connection.execute(sa.select(table).where(c.id.in_(due.scalar_subquery())))
    found = sorted(rows.mappings(), key=lambda row: row["run_after"])
    if found:
        connection.execute(
            sa.update(table).where(c.id.in_([row["id"] for row in found])).values(**lease)
        )
    return [{**row, "leased_until": lease_until, "attempts": row["attempts"] + 1} for row in found]


def update_if_leased(
    connection: sa.Connection,
    table: sa.Table,
    *,
    row_id: object,
    pending: str,
    lease: datetime | None,
    **values: object,
) -> bool:
    """Change a pending row only while this worker's lease still holds it, so a worker
    whose lease ran out cannot reopen a finished row or clear its successor's lease."""
    c = table.c
    result = connection.execute(
        sa.update(table)
        .where(c.id == row_id, c.state == pending, c.leased_until == lease)
        .values(**values)
    )
    return bool(result.rowcount)
