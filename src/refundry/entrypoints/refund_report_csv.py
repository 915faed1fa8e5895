"""The refunds report as CSV rows, shared by the API download, the dashboard's and the
CLI: amounts in major units with a currency column, ISO 8601 times. Who made a refund is
there twice: ``created_by`` as the ledger records it (``staff:<id>``, for machines and the
report's ``staff`` filter) and, last so no column moves, ``created_by_name`` as a person
reads it (a team member's e-mail, ``API key …1a2b``, the provider's name, Refundry)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from refundry.domain.money import Currency, Money
from refundry.domain.reporting import RefundReportRow
from refundry.entrypoints.actors import Actors
from refundry.entrypoints.csv_stream import csv_lines, safe_text

REFUND_REPORT_COLUMNS = [
    "refund_id", "order_id", "external_id", "customer_email", "items", "amount", "tax",
    "shipping", "currency", "kind", "method", "status", "reason", "created_by", "created_at",
    "completed_at", "created_by_name",
]  # fmt: skip


def refund_report_row(row: RefundReportRow, actors: Mapping[str, Actors]) -> list[str]:
    """``actors``: the merchant's, by payment method (``actors.merchant_actors``)."""
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
        safe_text(actors[row.payment_method].name(row.created_by)),
    ]


def refund_report_csv(
    rows: Iterable[RefundReportRow], actors: Mapping[str, Actors]
) -> Iterator[str]:
    return csv_lines(REFUND_REPORT_COLUMNS, (refund_report_row(row, actors) for row in rows))
