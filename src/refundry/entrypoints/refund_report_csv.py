"""The refunds report as CSV rows, shared by the API download, the dashboard's and the
CLI: amounts in major units with a currency column, ISO 8601 times."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from refundry.domain.money import Currency, Money
from refundry.domain.reporting import RefundReportRow
from refundry.entrypoints.csv_stream import csv_lines, safe_text

REFUND_REPORT_COLUMNS = [
    "refund_id", "order_id", "external_id", "customer_email", "items", "amount", "tax",
    "shipping", "currency", "kind", "method", "status", "reason", "created_by", "created_at",
    "completed_at",
]  # fmt: skip


def refund_report_row(row: RefundReportRow) -> list[str]:
    currency = Currency.of(row.currency)

    def major(minor: int) -> str:
        return Money(minor, currency).to_decimal_string()

    return [
        str(row.id),
        str(row.order_id),
        safe_text(row.external_id),
        safe_text(row.customer_email),
        safe_text(row.items),
        major(row.amount),
        major(row.tax),
        major(row.shipping),
        row.currency,
        row.kind,
        row.method,
        row.status,
        safe_text(row.reason),
        safe_text(row.created_by),
        row.created_at.isoformat(),
        row.completed_at.isoformat() if row.completed_at else "",
    ]


def refund_report_csv(rows: Iterable[RefundReportRow]) -> Iterator[str]:
    return csv_lines(REFUND_REPORT_COLUMNS, (refund_report_row(row) for row in rows))
