"""``refundry reconcile``: import expected transaction records, run the comparison, and
write the discrepancy report.

The import reads the file twice: once to check every line (a bad line stops the import
before anything is written, and says which line), once to store it in batches under a
progress bar.
"""

from __future__ import annotations

import csv
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TextIO

import typer

from refundry.adapters.metrics import reconciliation_run
from refundry.domain.errors import InvalidInput
from refundry.domain.money import Currency, Money
from refundry.domain.reconciliation import ExpectedRecord
from refundry.entrypoints.cli_database import existing_database
from refundry.entrypoints.reconciliation_csv import discrepancy_csv
from refundry.services.handlers import reconciliation
from refundry.services.views import reconciliation as reconciliation_views

reconcile_app = typer.Typer(
    help="Reconciliation: expected transaction records against orders.", no_args_is_help=True
)

RECORD_COLUMNS = ("transaction_id", "order", "amount", "currency", "points", "occurred_at")
REQUIRED_COLUMNS = ("transaction_id", "order", "amount", "currency")


def parse_merchant_id(merchant: str) -> uuid.UUID:
    try:
        return uuid.UUID(merchant)
    except ValueError:
        raise InvalidInput(f"--merchant must be a merchant id, not {merchant!r}") from None


def parse_record(row: dict[str, str | None]) -> ExpectedRecord:
    """One CSV line as a record; ``InvalidInput`` says what is wrong with it."""
    values = {key: (value or "").strip() for key, value in row.items() if key is not None}
    try:
        amount = int(values["amount"])
    except ValueError:
        raise InvalidInput(f"amount must be whole minor units, not {values['amount']!r}") from None
    points_text = values.get("points", "")
    try:
        points = int(points_text) if points_text else None
    except ValueError:
        raise InvalidInput(f"points must be a whole number, not {points_text!r}") from None
    occurred_text = values.get("occurred_at", "")
    try:
        occurred_at = datetime.fromisoformat(occurred_text) if occurred_text else None
    except ValueError:
        raise InvalidInput(f"occurred_at must be ISO 8601, not {occurred_text!r}") from None
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a time zone offset (or Z)")
    return ExpectedRecord(
        transaction_id=values["transaction_id"],
        order_reference=values["order"],
        amount=Money(amount, Currency.of(values["currency"].upper())),
        points=points,
        occurred_at=occurred_at,
    )


def read_records(source: TextIO) -> Iterator[ExpectedRecord]:
    reader = csv.DictReader(source)
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"the file needs the columns {', '.join(RECORD_COLUMNS)} (missing: "
            f"{', '.join(missing)}); points and occurred_at may be empty"
        )
    for row in reader:
        try:
            yield parse_record(row)
        except InvalidInput as error:
            raise InvalidInput(f"line {reader.line_num}: {error.detail}") from None


@reconcile_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV file")],
    merchant: Annotated[str, typer.Option(help="the merchant whose records these are")],
) -> None:
    """Store the records of a CSV file (transaction_id, order, amount, currency, points,
    occurred_at); importing a file twice stores it once, and a corrected line replaces
    the old one."""
    merchant_id = parse_merchant_id(merchant)
    container = existing_database()
    with file.open(newline="", encoding="utf-8") as source:
        total = sum(1 for _ in read_records(source))
    with (
        file.open(newline="", encoding="utf-8") as source,
        typer.progressbar(length=total, label="importing", file=sys.stderr) as progress,
    ):
        done = 0
        for imported in reconciliation.import_records(
            container.uow_factory, merchant_id, read_records(source)
        ):
            progress.update(imported - done)
            done = imported
    typer.echo(f"imported {total} record(s)")


@reconcile_app.command("run")
def run(
    merchant: Annotated[str | None, typer.Option(help="only this merchant")] = None,
    grace_hours: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=24 * 365,
            help="how long a redeem order may wait for its record (default: setting)",
        ),
    ] = None,
) -> None:
    """Compare records with orders: reverse redeem orders whose record is missing after
    the grace period (auto_refunded) and report every other mismatch. Safe to rerun."""
    container = existing_database()
    hours = container.settings.reconcile_grace_hours if grace_hours is None else grace_hours
    merchant_id = None if merchant is None else parse_merchant_id(merchant)
    outcome = reconciliation_run(
        "cli",
        lambda: reconciliation.reconcile(
            container.uow_factory, merchant_id, grace=timedelta(hours=hours)
        ),
    )
    typer.echo(
        f"records matched: {outcome.records_linked}; orders auto_refunded: "
        f"{len(outcome.orders_auto_refunded)}; new discrepancies: "
        f"{outcome.discrepancies_found}; resolved: {outcome.discrepancies_resolved}"
    )
    for order_id in outcome.orders_auto_refunded:
        typer.echo(f"auto_refunded {order_id}")


@reconcile_app.command("report")
def report(
    merchant: Annotated[str, typer.Option(help="the merchant's id")],
    output: Annotated[Path | None, typer.Option(help="write here (default: stdout)")] = None,
    include_resolved: Annotated[bool, typer.Option(help="resolved ones too")] = False,
) -> None:
    """Write the discrepancy report as CSV."""
    merchant_id = parse_merchant_id(merchant)
    container = existing_database()
    rows = reconciliation_views.all_discrepancies(
        container.lagging_reads, merchant_id, include_resolved=include_resolved
    )
    if output is None:
        for line in discrepancy_csv(rows):
            sys.stdout.write(line)
        return
    with output.open("w", newline="", encoding="utf-8") as target:
        for line in discrepancy_csv(rows):
            target.write(line)
    typer.echo(f"wrote the discrepancy report to {output}")
