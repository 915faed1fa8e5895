"""Reconciliation of N records against N redeem orders: `python -m benchmarks.reconcile`.

Issue 7: reconciling 1,000,000 records against 1,000,000 orders on the local PostgreSQL
finishes in under 60 s with flat memory. Method:

1. a fresh database: by default a new one on the --postgres server (never the database
   the URL names), dropped at the end; with --sqlite a temporary file. ``bootstrap``
   migrates it, and ``create_merchant`` makes the one merchant;
2. seeding, not part of the timings (its time is printed): N settled redeem orders
   (``paid``, card plus points, captured = total, one physical line whose totals make
   the order's, created 10 to 40 days ago), and the records the points system would
   send for them (``order_reference`` = the external id, ``amount`` = captured,
   ``points`` = points redeemed, imported two days ago, matched to their orders as the
   import matches them). A controlled fraction differs:
   0.1% of the records carry a wrong amount (``amount_mismatch``), 0.1% more name
   orders nobody knows (``record_without_order``), and 0.05% of the orders have no
   record at all (reversed: ``auto_refunded``). On PostgreSQL the rows go in with
   ``COPY`` from generators (the benchmark's memory does not grow with N), then
   ``ANALYZE``, as a database that has been running would have statistics; on SQLite,
   with batched multi-row inserts;
3. run 1, timed: ``reconciliation.reconcile(uow_factory, merchant, grace=24 h)``, with
   the process's RSS sampled from /proc/self/status every 50 ms in a thread (before,
   peak during, after). A wrapper of the unit of work factory times each transaction
   and names it by the first reconciliation call it makes (so the phases add up to the
   run, commits included), and an engine event times every statement;
4. run 2, timed, at once after: it must change nothing;
5. checks, or the benchmark exits non-zero: run 1 had nothing left to match (the
   orphans name no order), reversed exactly the orders without a record and found exactly the
   mismatches and orphans; run 2 matched, reversed, found and resolved nothing; the
   statuses and discrepancies in the database say the same;
6. unless --import-rows 0: ``refundry reconcile import`` of a CSV of that many records,
   in a child process as an operator would run it (its start-up and its check pass over
   the file included), with that child's peak RSS.

It prints one table, the slowest statements of run 1, and the machine. Memory is this
process's only: the PostgreSQL server's own is not in it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks.databases import fresh_postgres, fresh_sqlite, libpq
from refundry.adapters.db.tables import orders as order_tables
from refundry.adapters.db.tables import reconciliation as reconciliation_tables
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.reconciliation import DiscrepancyKind, ReconciliationOutcome
from refundry.domain.status import OrderStatus
from refundry.services import transactions
from refundry.services.handlers import reconciliation
from refundry.services.handlers.merchants import create_merchant
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

BIN = Path(sys.executable).parent
GRACE = timedelta(hours=24)
SHIPPING, SHIPPING_TAX = 490, 98
ORDER_SEED, LINE_SEED = 7, 11  # the same ids come back when a pass is run again
SQLITE_BATCH = 5000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def source_fingerprint() -> str:
    """A digest of src/ as it ran (the code changes between runs of a benchmark)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1] / "src"
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------------- data
@dataclass(frozen=True, slots=True)
class Plan:
    """What is seeded, and so what a run must find. Order ``i`` has no record when
    ``i % 2000 == 7`` (0.05%) and a record with a wrong amount when ``i % 1000 == 3``
    (0.1%); ``orders // 1000`` records name unknown orders (0.1%)."""

    orders: int
    merchant_id: uuid.UUID
    now: datetime

    @staticmethod
    def missing(i: int) -> bool:
        return i % 2000 == 7

    @staticmethod
    def mismatched(i: int) -> bool:
        return i % 1000 == 3

    @property
    def missing_count(self) -> int:
        return len(range(7, self.orders, 2000))

    @property
    def mismatch_count(self) -> int:
        return len(range(3, self.orders, 1000))

    @property
    def orphan_count(self) -> int:
        return self.orders // 1000

    @property
    def records(self) -> int:
        return self.orders - self.missing_count + self.orphan_count

    def created_at(self, i: int) -> datetime:
        # Spread over 30 days ending 10 days ago: every order is past the grace period.
        return self.now - timedelta(days=40) + timedelta(seconds=(2 * i) % (30 * 86400))

    @property
    def imported_at(self) -> datetime:
        return self.now - timedelta(days=2)


def amounts(i: int) -> tuple[int, int, int, int]:
    """(unit price, tax, total, points redeemed) of order ``i``; a point is worth a cent,
    so the points' value is the points, and the card paid the rest."""
    price = 1000 + (i * 7919) % 9000
    tax = price // 5
    return price, tax, price + tax + SHIPPING + SHIPPING_TAX, 100 + i % 400


def external_id(i: int) -> str:
    return f"bench-{i:08d}"


def ids(seed: int) -> Iterator[uuid.UUID]:
    rng = random.Random(seed)  # noqa: S311 -- reproducible ids, not secrets
    while True:
        yield uuid.UUID(int=rng.getrandbits(128), version=4)


ORDER_COLUMNS = (
    "id", "merchant_id", "external_id", "customer_email", "currency", "status",
    "fulfilment_status", "total", "subtotal", "discount", "tax", "shipping_amount",
    "shipping_tax", "payment_method", "capture_mode", "authorized", "captured",
    "authorization_state", "payment_reference", "points_earned", "points_reversed",
    "points_redeemed", "points_value", "points_restored", "version", "created_at",
    "updated_at",
)  # fmt: skip
LINE_COLUMNS = (
    "id", "merchant_id", "order_id", "position", "sku", "name", "kind", "quantity",
    "unit_price", "discount", "tax", "fulfilled_quantity", "cancelled_quantity",
)  # fmt: skip
RECORD_COLUMNS = (
    "merchant_id", "transaction_id", "order_reference", "order_id", "currency", "amount",
    "points", "occurred_at", "imported_at",
)  # fmt: skip


def order_rows(plan: Plan, missing_ids: list[uuid.UUID]) -> Iterator[tuple[Any, ...]]:
    """Settled redeem orders as ``ingest_order`` would store them; the ids of those
    without a record are kept in ``missing_ids``."""
    for i, order_id in zip(range(plan.orders), ids(ORDER_SEED), strict=False):
        price, tax, total, points = amounts(i)
        created = plan.created_at(i)
        if plan.missing(i):
            missing_ids.append(order_id)
        yield (
            order_id, plan.merchant_id, external_id(i), f"customer{i % 100_000}@example.com",
            "EUR", OrderStatus.PAID.value, "unfulfilled", total, price, 0, tax, SHIPPING,
            SHIPPING_TAX, "card", "automatic", total, total, "captured", f"pi_bench{i:08d}",
            0, 0, points, points, 0, 1, created, created,
        )  # fmt: skip


def line_rows(plan: Plan) -> Iterator[tuple[Any, ...]]:
    """One line per order whose subtotal, discount and tax are the order's."""
    order_ids, line_ids = ids(ORDER_SEED), ids(LINE_SEED)
    for i, order_id, line_id in zip(range(plan.orders), order_ids, line_ids, strict=False):
        price, tax, _, _ = amounts(i)
        yield (
            line_id, plan.merchant_id, order_id, 0, f"SKU-{i % 1000:04d}", "Bench item",
            "physical", 1, price, 0, tax, 0, 0,
        )  # fmt: skip


def record_rows(plan: Plan) -> Iterator[tuple[Any, ...]]:
    """The records as ``refundry reconcile import`` stores them: matched to their orders
    at import (the orphans stay unmatched)."""
    imported = plan.imported_at
    for i, order_id in zip(range(plan.orders), ids(ORDER_SEED), strict=False):
        if plan.missing(i):
            continue
        _, _, total, points = amounts(i)
        amount = total + 1 if plan.mismatched(i) else total
        yield (
            plan.merchant_id, f"tx-{i:08d}", external_id(i), order_id, "EUR", amount, points,
            plan.created_at(i), imported,
        )  # fmt: skip
    for k in range(plan.orphan_count):
        yield (
            plan.merchant_id, f"tx-orphan-{k:06d}", f"unknown-{k:08d}", None, "EUR", 1234,
            None, plan.now - timedelta(days=3), imported,
        )  # fmt: skip


def check_columns(table: sa.Table, columns: Sequence[str]) -> None:
    """Every NOT NULL column without a server default is filled."""
    required = {c.name for c in table.columns if not c.nullable and c.server_default is None}
    if missing := required - set(columns):
        raise AssertionError(f"{table.name}: the seed leaves {sorted(missing)} empty")


def copy_rows(
    engine: Engine, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """PostgreSQL ``COPY ... FROM STDIN`` on the raw psycopg connection, one transaction."""
    raw = engine.raw_connection()
    written = 0
    try:
        driver: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        raw.commit()
    finally:
        raw.close()
    return written


def insert_rows(
    engine: Engine, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """SQLite: multi-row inserts of ``SQLITE_BATCH`` rows, one transaction."""
    written = 0
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) == SQLITE_BATCH:
                connection.execute(sa.insert(table), batch)
                written, batch = written + len(batch), []
        if batch:
            connection.execute(sa.insert(table), batch)
            written += len(batch)
    return written


def seed(container: Container, plan: Plan, postgres: bool) -> list[uuid.UUID]:
    """The orders, their lines and the records; the ids of the orders with no record."""
    write = copy_rows if postgres else insert_rows
    missing_ids: list[uuid.UUID] = []
    for table, columns, rows in (
        (order_tables.orders, ORDER_COLUMNS, order_rows(plan, missing_ids)),
        (order_tables.order_lines, LINE_COLUMNS, line_rows(plan)),
        (reconciliation_tables.reconciliation_records, RECORD_COLUMNS, record_rows(plan)),
    ):
        check_columns(table, columns)
        started = time.perf_counter()
        written = write(container.engine, table, columns, rows)
        log(f"  {table.name}: {written:,} rows in {time.perf_counter() - started:.1f} s")
    if postgres:
        started = time.perf_counter()
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
        log(f"  ANALYZE in {time.perf_counter() - started:.1f} s")
    return missing_ids


# ------------------------------------------------------------ instrumentation
def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(AbstractContextManager["RssSampler"]):
    """The process's resident set, read every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.before = self.peak = self.after = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> RssSampler:
        self.before = self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = rss_mb()
        self.peak = max(self.peak, self.after)


PHASES = {
    "link_records": "link records to orders",
    "orders_missing_records": "find orders without a record (pages of 200)",
    "has_record": "auto-refunds, one transaction each",
    "note_discrepancies": "note discrepancies",
    "unsettled_reversals": "find reversals the provider refused",
    "resolve_discrepancies": "resolve discrepancies",
}


@dataclass
class Phases:
    """Seconds and transactions by phase: each transaction from BEGIN to its release."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class _NamingRepository:
    """Passes calls through, remembering the first method a transaction calls."""

    def __init__(self, inner: Any, names: list[str]) -> None:
        self._inner, self._names = inner, names

    def __getattr__(self, name: str) -> Any:
        self._names.append(name)
        return getattr(self._inner, name)


class TimedUnitOfWork(AbstractContextManager[UnitOfWork]):
    def __init__(self, inner: UnitOfWork, phases: Phases) -> None:
        self._inner, self._phases = inner, phases
        self._names: list[str] = []
        self._started = 0.0

    def __enter__(self) -> UnitOfWork:
        self._started = time.perf_counter()
        uow = self._inner.__enter__()
        uow.reconciliation = _NamingRepository(uow.reconciliation, self._names)  # type: ignore[misc]
        return uow

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._inner.__exit__(exc_type, exc, traceback)
        finally:
            name = PHASES.get(self._names[0], self._names[0]) if self._names else "other"
            self._phases.seconds[name] += time.perf_counter() - self._started
            self._phases.calls[name] += 1


@dataclass
class TimedUowFactory:
    inner: UnitOfWorkFactory
    phases: Phases = field(default_factory=Phases)

    def __call__(self, *, write: bool = True) -> UnitOfWork:
        return TimedUnitOfWork(self.inner(write=write), self.phases)  # type: ignore[return-value]


class StatementClock:
    """Seconds and calls by statement text (a few dozen distinct texts: flat memory)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_statement: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.enabled = False

    def __enter__(self) -> StatementClock:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, connection: sa.Connection, *_: Any) -> None:
        connection.info["bench_started"] = time.perf_counter()

    def _after(self, connection: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not self.enabled:
            return
        figures = self.by_statement[statement]
        figures[0] += time.perf_counter() - connection.info.pop("bench_started")
        figures[1] += 1

    def reset(self) -> None:
        self.by_statement.clear()

    def slowest(self, count: int) -> list[tuple[float, int, str]]:
        ranked = sorted(((s, int(n), text) for text, (s, n) in self.by_statement.items()))
        return ranked[::-1][:count]


def one_line(statement: str, head: int = 50, tail: int = 70) -> str:
    """The statement's start and end (without ON CONFLICT or RETURNING), enough to tell
    the statements apart."""
    text = " ".join(statement.split()).split(" ON CONFLICT ")[0].split(" RETURNING ")[0]
    return text if len(text) <= head + tail else f"{text[:head]} … {text[-tail:]}"


# ------------------------------------------------------------------ the runs
@dataclass
class Run:
    seconds: float
    outcome: ReconciliationOutcome
    rss: RssSampler
    phases: Phases


def timed_run(container: Container, plan: Plan, clock: StatementClock) -> Run:
    factory = TimedUowFactory(container.uow_factory)
    clock.reset()
    clock.enabled = True
    with RssSampler() as rss:
        started = time.perf_counter()
        outcome = reconciliation.reconcile(factory, plan.merchant_id, grace=GRACE)
        seconds = time.perf_counter() - started
    clock.enabled = False
    return Run(seconds, outcome, rss, factory.phases)


def database_counts(container: Container, merchant_id: uuid.UUID) -> dict[str, int]:
    o, d = order_tables.orders, reconciliation_tables.reconciliation_discrepancies
    with container.engine.connect() as connection:
        statuses = connection.execute(
            sa.select(o.c.status, sa.func.count()).where(o.c.merchant_id == merchant_id)
            .group_by(o.c.status)
        ).all()  # fmt: skip
        kinds = connection.execute(
            sa.select(d.c.kind, sa.func.count())
            .where(d.c.merchant_id == merchant_id, d.c.resolved_at.is_(None))
            .group_by(d.c.kind)
        ).all()
        refunds = connection.execute(
            sa.select(sa.func.count()).where(order_tables.refunds.c.merchant_id == merchant_id)
        ).scalar_one()
    return {
        **{f"orders {status}": count for status, count in statuses},
        **{f"discrepancies {kind}": count for kind, count in kinds},
        "refunds": refunds,
    }


def check(
    plan: Plan, missing_ids: list[uuid.UUID], first: Run, second: Run, counts: dict[str, int]
) -> list[str]:
    failures = []
    one, two = first.outcome, second.outcome
    expected_found = plan.mismatch_count + plan.orphan_count
    if one.records_linked:  # the import matched them; the orphans name no order
        failures.append(f"run 1 linked {one.records_linked}, not 0")
    if sorted(one.orders_auto_refunded) != sorted(missing_ids):
        failures.append(
            f"run 1 reversed {len(one.orders_auto_refunded)} orders, not the "
            f"{len(missing_ids)} without a record"
        )
    if one.discrepancies_found != expected_found or one.discrepancies_resolved:
        failures.append(
            f"run 1 found {one.discrepancies_found} (expected {expected_found}) and "
            f"resolved {one.discrepancies_resolved} (expected 0)"
        )
    if (two.records_linked, len(two.orders_auto_refunded), two.discrepancies_found) != (0, 0, 0):
        failures.append(f"run 2 changed something: {two}")
    if two.discrepancies_resolved:
        failures.append(f"run 2 resolved {two.discrepancies_resolved}")
    expected = {
        f"orders {OrderStatus.PAID.value}": plan.orders - plan.missing_count,
        f"orders {OrderStatus.AUTO_REFUNDED.value}": plan.missing_count,
        f"discrepancies {DiscrepancyKind.MISSING_RECORD.value}": plan.missing_count,
        f"discrepancies {DiscrepancyKind.AMOUNT_MISMATCH.value}": plan.mismatch_count,
        f"discrepancies {DiscrepancyKind.RECORD_WITHOUT_ORDER.value}": plan.orphan_count,
        "refunds": plan.missing_count,
    }
    if counts != {key: value for key, value in expected.items() if value}:
        failures.append(f"the database holds {counts}, expected {expected}")
    return failures


# --------------------------------------------------------------- CLI import
@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    seconds: float
    peak_mb: float


def cli_import(container: Container, plan: Plan, url: str, rows: int) -> ImportResult:
    """``refundry reconcile import`` of ``rows`` new, matching records, in a child."""
    with tempfile.TemporaryDirectory(prefix="refundry-bench-") as directory:
        path = Path(directory) / "records.csv"
        with path.open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target)
            writer.writerow(("transaction_id", "order", "amount", "currency", "points",
                             "occurred_at"))  # fmt: skip
            for k in range(rows):
                i = k % plan.orders
                _, _, total, points = amounts(i)
                writer.writerow((f"csv-{k:08d}", external_id(i), total, "EUR", points,
                                 plan.created_at(i).isoformat()))  # fmt: skip
        before = transactions.read(
            container.uow_factory, lambda uow: uow.reconciliation.count_records(plan.merchant_id)
        )
        env = {**os.environ, "REFUNDRY_DATABASE_URL": url}
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "refundry"), "reconcile", "import", str(path),
             "--merchant", str(plan.merchant_id)],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    after = transactions.read(
        container.uow_factory, lambda uow: uow.reconciliation.count_records(plan.merchant_id)
    )
    if after - before != rows:
        raise AssertionError(f"the import stored {after - before} records, not {rows}")
    return ImportResult(rows, seconds, peak_mb)


# ---------------------------------------------------------------------- main
def phase_lines(run: Run) -> list[str]:
    return [
        f"|   {name} ({run.phases.calls[name]:,} transaction(s)) | {seconds:.2f} s |"
        for name, seconds in sorted(run.phases.seconds.items(), key=lambda item: -item[1])
    ]


def report(
    engine_name: str,
    plan: Plan,
    seed_seconds: float,
    runs: tuple[Run, Run],
    imported: ImportResult | None,
) -> None:
    first, second = runs
    one = first.outcome
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {engine_name}, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"src sha256 {source_fingerprint()}"
    )
    print("| figure | value |\n|---|---|")
    print(f"| orders (redeem, settled) | {plan.orders:,} |")
    print(
        f"| records | {plan.records:,} ({plan.mismatch_count:,} with a wrong amount, "
        f"{plan.orphan_count:,} naming unknown orders; {plan.missing_count:,} orders have none) |"
    )
    print(f"| seed (orders, lines, records{', ANALYZE' if 'Postgre' in engine_name else ''}) "
          f"| {seed_seconds:.1f} s |")  # fmt: skip
    print(f"| **run 1** | **{first.seconds:.1f} s** |")
    for line in phase_lines(first):
        print(line)
    print(
        f"| run 1 RSS before / peak / after | {first.rss.before:.0f} / {first.rss.peak:.0f} / "
        f"{first.rss.after:.0f} MB |"
    )
    print(
        f"| run 1 outcome | {one.records_linked:,} linked, {len(one.orders_auto_refunded):,} "
        f"auto-refunded, {one.discrepancies_found:,} new discrepancies |"
    )
    print(f"| run 2 (changes nothing) | {second.seconds:.1f} s |")
    for line in phase_lines(second):
        print(line)
    print(
        f"| run 2 RSS before / peak / after | {second.rss.before:.0f} / {second.rss.peak:.0f} / "
        f"{second.rss.after:.0f} MB |"
    )
    if imported is not None:
        print(
            f"| `refundry reconcile import` of {imported.rows:,} rows | {imported.seconds:.1f} s, "
            f"{imported.rows / imported.seconds:,.0f} rows/s, peak RSS {imported.peak_mb:.0f} MB |"
        )


def print_slowest(title: str, slowest: list[tuple[float, int, str]]) -> None:
    print(f"\n{title}:")
    for seconds, calls, text in slowest:
        print(f"  {seconds:7.2f} s  {calls:5,}x  {one_line(text)}")


def measure(url: str, args: argparse.Namespace, engine_name: str) -> list[str]:
    postgres = url.startswith("postgresql")
    container = bootstrap(Settings(database_url=url))
    try:
        made = transactions.run(
            container.uow_factory, lambda uow: create_merchant(uow, "Reconciliation bench")
        )
        plan = Plan(args.orders, made.merchant.id, datetime.now(UTC))
        log(f"seeding {plan.orders:,} orders and {plan.records:,} records ({engine_name})")
        started = time.perf_counter()
        missing_ids = seed(container, plan, postgres)
        seed_seconds = time.perf_counter() - started
        with StatementClock(container.engine) as clock:
            log("run 1")
            first = timed_run(container, plan, clock)
            slowest_first = clock.slowest(args.slowest)
            log(f"run 1: {first.seconds:.1f} s; run 2")
            second = timed_run(container, plan, clock)
            slowest_second = clock.slowest(args.slowest)
        counts = database_counts(container, plan.merchant_id)
        failures = check(plan, missing_ids, first, second, counts)
        imported = None
        if args.import_rows and not failures:
            log(f"refundry reconcile import of {args.import_rows:,} rows")
            imported = cli_import(container, plan, url, args.import_rows)
        report(engine_name, plan, seed_seconds, (first, second), imported)
        print_slowest("slowest statements of run 1 (total seconds, calls)", slowest_first)
        print_slowest("slowest statements of run 2", slowest_second)
        print(f"\ndatabase after the runs: {counts}")
        return failures
    finally:
        container.webhook_work.sender.close()  # type: ignore[attr-defined]
        container.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "REFUNDRY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="the server to create (and drop) a fresh database on",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=100_000,
        help="rows of the CSV given to `refundry reconcile import` (0: skip)",
    )
    parser.add_argument("--slowest", type=int, default=6, help="statements to list")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    if args.orders < 1 or args.import_rows < 0:
        parser.error("--orders must be at least 1 and --import-rows not negative")
    if args.sqlite:
        with fresh_sqlite("reconcile.db") as url:
            failures = measure(url, args, "SQLite")
    else:
        with fresh_postgres(args.postgres, keep=args.keep) as url:
            with psycopg.connect(libpq(url)) as connection:
                version = connection.info.server_version
            failures = measure(url, args, f"PostgreSQL {version // 10000}.{version % 10000}")
    if failures:
        for failure in failures:
            log(f"FAILED: {failure}")
        sys.exit(1)


if __name__ == "__main__":
    main()
