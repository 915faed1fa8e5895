"""Scenarios 7 to 9 of ``python -m benchmarks``: the existing benchmarks of reports,
webhook delivery and reconciliation, each run as its own command (as documented in
docs/performance.md), with their figures folded into the one table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.http_scenarios import Row
from benchmarks.http_server import log

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Sizes:
    report_orders: int
    reconcile_orders: int
    reconcile_import_rows: int
    webhook_events: int
    webhook_threads: str


@dataclass(frozen=True, slots=True)
class Finished:
    command: list[str]
    code: int
    stdout: str
    stderr: str


def run_module(module: str, *arguments: str) -> Finished:
    """``python -m benchmarks.<module>`` in a scratch folder (some write files in theirs)."""
    command = [sys.executable, "-m", f"benchmarks.{module}", *arguments]
    log(f"  {' '.join(command[1:])}")
    with tempfile.TemporaryDirectory(prefix="refundry-bench-") as scratch:
        done = subprocess.run(
            command,
            cwd=scratch,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])},
            capture_output=True,
            text=True,
            check=False,
        )
    return Finished(command, done.returncode, done.stdout, done.stderr)


def _cell(stdout: str, label: str) -> str | None:
    """The value cell of the Markdown table row whose label starts with ``label``."""
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].strip("*").startswith(label):
            return cells[1].strip("*")
    return None


def _number(text: str | None, unit: str = "") -> float | None:
    if text is None:
        return None
    match = re.search(r"([\d,]+(?:\.\d+)?)\s*" + re.escape(unit), text)
    return float(match.group(1).replace(",", "")) if match else None


def _failed(name: str, database: str, finished: Finished) -> Row:
    tail = " ".join((finished.stderr or finished.stdout).strip().splitlines()[-3:])
    return Row(name, database, 0, None, None, None, 1, f"exit {finished.code}: {tail[:300]}")


def reports(database: str, url_flag: list[str], orders: int) -> list[Row]:
    finished = run_module("reports", "--orders", str(orders), *url_flag)
    if finished.code:
        return [_failed("7. reports", database, finished)]
    out = finished.stdout
    summary = _number(_cell(out, "summary report"), "ms")
    page = _number(_cell(out, "refunds report, first page"), "ms")
    export = _cell(out, "CSV export") or "?"
    refunds = _cell(out, "refunds in the year") or "?"
    return [
        Row("7. report: year summary by day", database, orders, None, summary, None, 0,
            f"median of 5 at {orders:,} orders (target < 1 s at 1M)"),
        Row("7. report: refunds, first page", database, orders, None, page, None, 0,
            "median of 5, with its total (target < 1 s at 1M)"),
        Row("7. report: CSV export of the year", database, orders, None, None, None, 0,
            f"{refunds} refunds in {export} (target < 150 MB)"),
    ]  # fmt: skip


def reconcile(database: str, url_flag: list[str], orders: int, import_rows: int) -> list[Row]:
    finished = run_module(
        "reconcile", "--orders", str(orders), "--import-rows", str(import_rows), *url_flag
    )
    if finished.code:
        return [_failed("9. reconcile", database, finished)]
    out = finished.stdout
    records = _number(_cell(out, "records")) or 0
    first = _number(_cell(out, "run 1"), "s")
    second = _number(_cell(out, "run 2"), "s")
    rss = _cell(out, "run 1 RSS") or "?"
    imported = _cell(out, "`refundry reconcile import`") or "skipped"
    return [
        Row("9. reconcile: run 1", database, int(records),
            records / first if first else None, None, None, 0,
            f"{first} s for {int(records):,} records (target < 60 s at 1M); RSS {rss}"),
        Row("9. reconcile: run 2 (no change)", database, int(records),
            records / second if second else None, None, None, 0,
            f"{second} s; import: {imported}"),
    ]  # fmt: skip


def _delivery_rows(summary: dict[str, Any], events: int) -> list[Row]:
    rows = []
    for result in summary.get("results", []):
        database = str(result.get("database", "?"))
        for phase in result.get("phases", []):
            threads = phase.get("threads", "?")
            rate = phase.get("delivery_events_per_s")
            raw = phase.get("raw_post_events_per_s")
            raw_note = (
                f"; raw POSTs {sum(raw.values()) / len(raw):,.0f}/s"
                if isinstance(raw, dict)
                else ""
            )
            rows.append(
                Row(f"8. webhook delivery, {threads} worker thread(s)", database, events,
                    rate, None, None, 0, f"events/s to a loopback receiver (target ≥ 1,000)"
                    f"{raw_note}")
            )  # fmt: skip
    return rows


def webhooks(postgres: str | None, sqlite: bool, events: int, threads: str) -> list[Row]:
    flags = ["--events", str(events), "--threads", threads]
    flags += ["--sqlite" if sqlite else "--no-sqlite"]
    flags += ["--postgres", postgres] if postgres else []
    finished = run_module("webhooks", *flags)
    if finished.code:
        return [_failed("8. webhook delivery", "both", finished)]
    try:
        summary = json.loads(finished.stdout[finished.stdout.index("{") :])
    except ValueError:
        summary = {}
    rows = _delivery_rows(summary, events)
    # Someone may change that benchmark's output; say so rather than guess.
    return rows or [
        Row("8. webhook delivery", "both", events, None, None, None, 0,
            "passed; output not understood, see `python -m benchmarks.webhooks`")
    ]  # fmt: skip
