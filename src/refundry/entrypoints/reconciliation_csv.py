"""The discrepancy report as CSV rows, shared by the API download and the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from refundry.domain.reconciliation import Discrepancy
from refundry.entrypoints.csv_stream import csv_lines, safe_text

DISCREPANCY_COLUMNS = [
    "kind", "transaction_id", "order_id", "currency", "order_amount", "record_amount",
    "order_points", "record_points", "action", "explanation", "found_at", "resolved_at",
]  # fmt: skip


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def discrepancy_row(discrepancy: Discrepancy) -> list[str]:
    return [
        discrepancy.kind.value,
        safe_text(discrepancy.transaction_id),
        _cell(discrepancy.order_id),
        _cell(discrepancy.currency),
        _cell(discrepancy.order_amount),
        _cell(discrepancy.record_amount),
        _cell(discrepancy.order_points),
        _cell(discrepancy.record_points),
        _cell(discrepancy.action),
        discrepancy.explanation,
        discrepancy.found_at.isoformat(),
        "" if discrepancy.resolved_at is None else discrepancy.resolved_at.isoformat(),
    ]


def discrepancy_csv(discrepancies: Iterable[Discrepancy]) -> Iterator[str]:
    return csv_lines(DISCREPANCY_COLUMNS, (discrepancy_row(d) for d in discrepancies))
