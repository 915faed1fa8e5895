"""Report speed on a large data set: `python -m benchmarks.reports --orders 1000000`.

Seeds a fresh PostgreSQL database (or SQLite with --sqlite) through `refundry seed`,
then times the summary report for a year and the first page of the refunds report
(median of several runs, warm), and measures the peak memory of a process that
exports every refund of the year as CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.databases import fresh_postgres, fresh_sqlite
from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.domain.reporting import Granularity, RefundFilters
from refundry.services import transactions
from refundry.services.views import reports

BIN = Path(sys.executable).parent


def timed(function: object, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "REFUNDRY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with fresh_sqlite("reports.db") if args.sqlite else fresh_postgres(args.postgres) as url:
        measure(url, args)


def measure(url: str, args: argparse.Namespace) -> None:
    env = {**os.environ, "REFUNDRY_DATABASE_URL": url}
    started = time.perf_counter()
    seeded = subprocess.run(
        [str(BIN / "refundry"), "seed", "--orders", str(args.orders), "--days", "365"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seed_seconds = time.perf_counter() - started
    merchant_id = uuid.UUID(json.loads(seeded.stdout.strip().splitlines()[-1])["merchant_id"])
    container = bootstrap(Settings(database_url=url))
    if not args.sqlite:
        with container.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=364)

    def summary() -> None:
        transactions.query(
            container.read_models,
            lambda read: reports.summary_report(read, merchant_id, first, today, Granularity.DAY),
        )

    def first_page() -> None:
        transactions.query(
            container.read_models,
            lambda read: reports.refunds_report(read, merchant_id, first, today, RefundFilters()),
        )

    refunds = transactions.query(
        container.read_models,
        lambda read: reports.count_refunds_report(read, merchant_id, first, today, RefundFilters()),
    )
    summary_seconds, page_seconds = timed(summary), timed(first_page)
    out = Path("bench-refunds.csv")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "refundry"), "reports", "refunds", "--merchant", str(merchant_id),
         "--from", first.isoformat(), "--to", today.isoformat(), "--out", str(out)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    export_seconds = time.perf_counter() - started
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    out.unlink(missing_ok=True)
    container.engine.dispose()
    engine = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {engine}")
    print("| figure | value |\n|---|---|")
    print(f"| orders seeded | {args.orders:,} in {seed_seconds:.0f} s |")
    print(f"| refunds in the year | {refunds:,} |")
    print(f"| summary report, a year by day (median of 5) | {summary_seconds * 1000:.0f} ms |")
    print(f"| refunds report, first page (median of 5) | {page_seconds * 1000:.0f} ms |")
    print(f"| CSV export of the year | {export_seconds:.1f} s, peak RSS {peak_mb:.0f} MB |")


if __name__ == "__main__":
    main()
