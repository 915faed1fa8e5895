"""``refundry verify``: the ledger verifier, as a command that exits non-zero on drift."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated

import typer

from refundry.entrypoints.cli_database import existing_database
from refundry.entrypoints.cli_reconcile import parse_merchant_id
from refundry.services.views.verify import verify as verify_ledgers

SHOWN_DRIFTS = 50


def verify(
    merchant: Annotated[str | None, typer.Option(help="only this merchant")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the outcome as JSON on standard output")
    ] = False,
) -> None:
    """Recompute every order's captured, refunded and refundable amounts, refund figures,
    points, float balances and invoices, and report totals from the ledgers; print any
    drift and exit 1 if there is some."""
    container = existing_database()
    outcome = verify_ledgers(
        container.lagging_reads, None if merchant is None else parse_merchant_id(merchant)
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "merchants": outcome.merchants,
                    "orders": outcome.orders,
                    "refunds": outcome.refunds,
                    "drift_count": outcome.drift_count,
                    "drifts": [
                        {**dataclasses.asdict(drift), "merchant_id": str(drift.merchant_id)}
                        for drift in outcome.drifts
                    ],
                },
                indent=2,
            )
        )
    else:
        for drift in outcome.drifts[:SHOWN_DRIFTS]:
            typer.echo(
                f"DRIFT {drift.check}: merchant {drift.merchant_id}, {drift.subject}: "
                f"expected {drift.expected}, found {drift.found}"
            )
        if outcome.drift_count > SHOWN_DRIFTS:
            typer.echo(f"... and {outcome.drift_count - SHOWN_DRIFTS} more (--json lists them)")
        typer.echo(
            f"checked {outcome.merchants} merchant(s), {outcome.orders} order(s), "
            f"{outcome.refunds} refund(s): "
            + ("no drift" if outcome.clean else f"{outcome.drift_count} drift(s)"),
            file=sys.stderr if as_json else sys.stdout,
        )
    if not outcome.clean:
        raise typer.Exit(1)
