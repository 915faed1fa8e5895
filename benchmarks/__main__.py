"""The benchmark of issue 9: ``python -m benchmarks [--postgres URL] [--smoke | --full]``.

For each database (SQLite in a temporary file; with --postgres, a database with a
random name created on that server and dropped at the end), it migrates, makes a
merchant with ``refundry``, starts the API under uvicorn with several workers as a user
would (with the baseline endpoint on), and loads it from a separate process on loopback:

1. baseline: one INSERT in one transaction through the same stack (at the start and
   again at the end; the better of the two is the one to compare with);
2. ingest an order (3 lines); 3. refund preview; 4. partial refund of a 3-line order;
5. cancel; each a different order per request, prepared before the phase;
6. 64 refunds racing on one order, a few rounds: the settle time, and the cumulative
   cap checked through the API and in the database.

Money out (``money``, on another fresh database each): refunds created as fast as a
client can and drained to the sandbox gateway by 1 and 2 ``refundry worker`` processes,
the gateway at 0, 50 and 200 ms; CPU per refund by process, the database's work per
refund, every refund checked against the gateway, and the framework ceiling (a bare
FastAPI one-INSERT app beside the baseline and the keyed partial refund); see
benchmarks/money.py, its knobs in benchmarks/money_knobs.py.

Then, unless --only says otherwise, the existing benchmarks run as their own commands:
7. reports (benchmarks.reports), 8. webhook delivery (benchmarks.webhooks), and
9. reconciliation (benchmarks.reconcile); smaller than 1M records unless --full.

It prints Markdown tables, the machine, and the targets with whether they hold. It
exits non-zero when any request got an unexpected answer, a race over-refunded, a refund
did not complete in time or was paid wrongly, or a benchmark it ran failed. Timings are
only printed: nothing here fails on speed.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from benchmarks import money_knobs, suite
from benchmarks.databases import fresh_postgres, fresh_sqlite
from benchmarks.http_scenarios import CATALOGUE, Outcome, Row, Settings, run_scenarios
from benchmarks.http_server import (
    api_server,
    database_name,
    log,
    machine_line,
    prepare,
)
from benchmarks.money import MoneyOutcome, run_money
from benchmarks.money_report import report as money_report

PARTS = ("http", "money", "reports", "webhooks", "reconcile")


@dataclass(frozen=True, slots=True)
class Mode:
    settings: Settings
    sizes: suite.Sizes


MODES = {
    "smoke": Mode(Settings(20, 4, 4, 1, 2), suite.Sizes(200, 200, 100, 20, "1")),
    "default": Mode(
        Settings(2000, 200, 32, 5, 4), suite.Sizes(100_000, 100_000, 20_000, 1000, "1,2")
    ),
    "full": Mode(
        Settings(4000, 400, 32, 10, 4), suite.Sizes(1_000_000, 1_000_000, 100_000, 2000, "1,2")
    ),
}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true", help="tiny counts: checks it all works")
    size.add_argument("--full", action="store_true", help="1M orders and records for 7 and 9")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("REFUNDRY_BENCH_POSTGRES_URL")
        or os.environ.get("REFUNDRY_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL; a fresh database is made there and dropped",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--only", default=",".join(PARTS), help=f"some of {','.join(PARTS)}")
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes on PostgreSQL"
    )
    parser.add_argument(
        "--sqlite-workers",
        type=int,
        default=1,
        help="uvicorn worker processes on SQLite (its one writer: see docs/performance.md)",
    )
    parser.add_argument("--requests", type=int, help="timed requests per HTTP phase")
    parser.add_argument("--concurrency", type=int, help="connections of the load generator")
    parser.add_argument(
        "--skus", type=int, default=CATALOGUE, help="products in the catalogue orders draw on"
    )
    money_knobs.add_arguments(parser)
    args = parser.parse_args()
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    if args.no_sqlite and not args.postgres:
        parser.error("--no-sqlite needs --postgres")
    return args


def http(url: str, database: str, args: argparse.Namespace, settings: Settings) -> Outcome:
    log(f"{database}: HTTP scenarios")
    shop = prepare(url)
    workers = args.sqlite_workers if url.startswith("sqlite") else args.workers
    with api_server(url, workers) as server:
        return run_scenarios(server, shop, url, database, settings)


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | database | requests | requests/s | p50 ms | p99 ms | errors | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.database} | {row.count:,} | {fmt(row.per_second)} | "
            f"{fmt(row.p50_ms, 1)} | {fmt(row.p99_ms, 1)} | {row.errors} | {row.note} |"
        )
    return "\n".join(lines)


def targets(rows: list[Row], over_refunds: int) -> list[str]:
    """The issue's targets, each with whether it holds in this run."""
    said = []
    for refund in (row for row in rows if row.scenario.startswith("4.")):
        if refund.per_second is None or not refund.baseline_per_second:
            continue
        ratio = refund.per_second / refund.baseline_per_second
        p99_ratio = (refund.p99_ms or 0) / (refund.baseline_p99_ms or 1)
        if refund.database.startswith("PostgreSQL"):
            ok = ratio >= 0.6 and p99_ratio <= 3 and refund.errors == 0
            said.append(
                f"- {'holds' if ok else 'MISSED'}: partial refund on {refund.database} at "
                f"{ratio:.2f}x the baseline's requests/s (≥ 0.6), p99 {p99_ratio:.2f}x the "
                f"baseline's (≤ 3), {refund.errors} errors"
            )
        else:
            ok = refund.per_second >= 300 and refund.errors == 0
            said.append(
                f"- {'holds' if ok else 'MISSED'}: {refund.per_second:,.0f} partial refunds/s on "
                f"{refund.database} (≥ 300; {ratio:.2f}x its baseline), {refund.errors} errors"
            )
    if any(row.scenario.startswith("6.") for row in rows):
        said.append(
            f"- {'holds' if over_refunds == 0 else 'MISSED'}: {over_refunds} over-refunds in the "
            "racing rounds (0)"
        )
    for row in rows:
        if row.scenario.startswith("8.") and row.per_second is not None:
            verdict = "holds" if row.per_second >= 1000 else "MISSED"
            said.append(
                f"- {verdict}: webhook delivery {row.per_second:,.0f} events/s on "
                f"{row.database}, {row.scenario[21:]} (≥ 1,000)"
            )
    return said


def main() -> None:
    args = parse()
    mode_name = "smoke" if args.smoke else "full" if args.full else "default"
    mode = MODES[mode_name]
    settings = Settings(
        args.requests or mode.settings.requests,
        mode.settings.warmup,
        args.concurrency or mode.settings.concurrency,
        mode.settings.race_rounds,
        mode.settings.parts,
        args.skus,
    )
    rows: list[Row] = []
    failures: list[str] = []
    over_refunds = 0
    databases: list[str] = []
    knobs = money_knobs.knobs_from(args, mode_name, settings)
    money: list[MoneyOutcome] = []
    engines = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.postgres else [])
    for engine in engines:
        fresh = fresh_sqlite() if engine == "sqlite" else fresh_postgres(args.postgres)
        with fresh as url:
            database = database_name(url)
            databases.append(database)
            if "http" in args.parts:
                outcome = http(url, database, args, settings)
                rows += outcome.rows
                failures += outcome.failures
                over_refunds += outcome.over_refunds
        if "money" in args.parts:
            # A database of its own: the HTTP scenarios leave refunds a worker would send.
            fresh = fresh_sqlite() if engine == "sqlite" else fresh_postgres(args.postgres)
            with fresh as url:
                money.append(run_money(url, database_name(url), knobs))
                failures += money[-1].failures
    # 7 and 9 as their issues measured them: on PostgreSQL when there is one.
    flag = ["--postgres", args.postgres] if args.postgres else ["--sqlite"]
    where = databases[-1] if databases else "SQLite"
    if "reports" in args.parts:
        log("7. reports")
        rows += suite.reports(where, flag, mode.sizes.report_orders)
    if "webhooks" in args.parts:
        log("8. webhook delivery")
        rows += suite.webhooks(
            args.postgres, not args.no_sqlite, mode.sizes.webhook_events, mode.sizes.webhook_threads
        )
    if "reconcile" in args.parts:
        log("9. reconciliation")
        rows += suite.reconcile(
            where, flag, mode.sizes.reconcile_orders, mode.sizes.reconcile_import_rows
        )
    rows.sort(key=lambda row: row.scenario.split(".")[0].zfill(2))  # keep the order
    failures += [f"{row.scenario} on {row.database}: {row.note}" for row in rows
                 if row.errors and row.scenario[0] in "789"]  # fmt: skip
    print(f"machine: {machine_line(databases or ['SQLite'])}")
    print(f"command: python -m benchmarks {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"load: {settings.requests:,} timed requests a scenario in {settings.parts} parts, each "
        f"after as many baseline requests, {settings.warmup} untimed in all; "
        f"{settings.concurrency} connections; {settings.skus} products; uvicorn workers: "
        f"{args.workers} on PostgreSQL, {args.sqlite_workers} on SQLite\n"
    )
    if rows:
        print(table(rows))
        print("\ntargets:\n" + "\n".join(targets(rows, over_refunds)))
    if money:
        print(f"\nmoney out: {money_knobs.describe(knobs)}\n")
        print(money_report(money, knobs))
    if failures or over_refunds:
        print("\nFAILED:\n" + "\n".join(f"- {failure}" for failure in failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
