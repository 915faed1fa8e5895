"""Reconciliation's findings as they stand: discrepancies, a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import partial

from refundry.domain.reconciliation import Discrepancy
from refundry.services.ports.read_model import ReadModel, ReadModelFactory
from refundry.services.transactions import query


def discrepancies(
    read: ReadModel,
    merchant_id: uuid.UUID,
    *,
    include_resolved: bool = False,
    after: tuple[datetime, str, str] | None = None,
    limit: int = 100,
) -> list[Discrepancy]:
    return read.reconciliation.discrepancies(
        merchant_id, include_resolved=include_resolved, after=after, limit=limit
    )


def all_discrepancies(
    read_models: ReadModelFactory,
    merchant_id: uuid.UUID,
    *,
    include_resolved: bool,
    page_size: int = 1000,
) -> Iterator[Discrepancy]:
    """Every discrepancy, a page per read (what the CSV download streams)."""
    after: tuple[datetime, str, str] | None = None
    while True:
        page = query(
            read_models,
            partial(
                discrepancies,
                merchant_id=merchant_id,
                include_resolved=include_resolved,
                after=after,
                limit=page_size,
            ),
        )
        yield from page
        if len(page) < page_size:
            return
        last = page[-1]
        after = (last.found_at, last.kind.value, last.subject)
