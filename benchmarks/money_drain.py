"""One cell of the money-out matrix: refunds created as fast as a client can, drained to
the sandbox gateway by ``refundry worker`` processes, with what every process spent.

The orders are paid at the gateway first (a payment intent each, captured, named as the
order's payment reference), so each refund goes out as a real one would: the API writes
it with its outbox message; a worker sends it (the refund's id is the idempotency key),
records it processing, polls it after the outbox's backoff and records it completed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from subprocess import Popen
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

from benchmarks.db_counters import DbCounters, RefundProgress, ServerCounters
from benchmarks.http_load import Phase, request_bytes, run_phase
from benchmarks.http_scenarios import (
    ORDER_TEMPLATE,
    Client,
    Outcome,
    PlacedOrder,
    count_unexpected,
    placed_orders,
)
from benchmarks.http_server import BIN, Server, background, log
from benchmarks.money_knobs import MoneyKnobs
from benchmarks.proc_cpu import TICK_MS, CpuMeter, postgres_server_ticks, process_tree
from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.tables import orders as order_tables

CHECKOUT_KEY = "sk_test_checkout"  # the sandbox takes any sk_test_ key
WORKER_READY = b"worker running"  # the worker's first log line, once it is wired
# What a worker's log says when a call went wrong; counted, shown, never expected.
WORKER_TROUBLE = ("provider unavailable", "failed unexpectedly", "Traceback")


def order_total(template: dict[str, object] = ORDER_TEMPLATE) -> int:
    lines = template["lines"]
    shipping = template["shipping"]
    assert isinstance(lines, list)
    assert isinstance(shipping, dict)
    goods = sum(line["quantity"] * line["unit_price"] - line.get("discount", 0) + line["tax"]
                for line in lines)  # fmt: skip
    return int(goods + shipping["amount"] + shipping["tax"])


@dataclass(frozen=True, slots=True)
class Rig:
    """What stays up across the cells of one database."""

    knobs: MoneyKnobs
    database: str
    url: str
    env: dict[str, str]
    api: Server
    gateway: str  # its base URL
    gateway_pid: int
    client: Client
    progress: RefundProgress
    counters: ServerCounters | None  # PostgreSQL only
    logs: Path

    @property
    def gateway_port(self) -> int:
        return int(self.gateway.rsplit(":", 1)[1])

    def set_faults(self, **faults: float) -> None:
        httpx.post(f"{self.gateway}/_sandbox/faults", json=faults).raise_for_status()

    def gateway_state(self) -> dict[str, object]:
        state: dict[str, object] = httpx.get(f"{self.gateway}/_sandbox/state", timeout=60).json()
        return state


def paid_orders(rig: Rig, count: int, outcome: Outcome) -> list[PlacedOrder]:
    """``count`` orders, each paid at the gateway first as a checkout pays (untimed)."""
    total = order_total()
    form = urlencode({"amount": total, "currency": "eur", "capture_method": "automatic"})
    pay = request_bytes("POST", "/v1/payment_intents",
                        {"Authorization": f"Bearer {CHECKOUT_KEY}"}, form.encode())  # fmt: skip
    settings = rig.knobs.ceiling
    paid = run_phase(Phase("payments", rig.gateway_port, [pay] * count, rig.knobs.concurrency,
                           keep_bodies=True))  # fmt: skip
    count_unexpected(paid, 200, "payment intents at the gateway", outcome)
    intents = [json.loads(body)["id"] for body in paid.bodies]
    client = rig.client
    ingest = [client.order(i, {"method": "card", "capture": "automatic", "reference": intent})
              for i, intent in enumerate(intents)]  # fmt: skip
    made = run_phase(client.phase("orders", ingest, settings, warmup=0, keep_bodies=True))
    count_unexpected(made, 201, "paid orders", outcome)
    return placed_orders(made)


@dataclass(slots=True)
class Cell:
    database: str
    workers: int
    latency_ms: int
    refunds: int  # asked for
    created: int = 0  # answered 201
    created_per_s: float | None = None  # by the client: first request sent to last answer
    completed: int = 0
    completed_per_s: float | None = None  # first created to last completed, as stored
    drain_seconds: float | None = None
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (s, created - settled)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # by process group
    server_cpu_ms: float | None = None  # every PostgreSQL process, others' load included
    db: DbCounters | None = None
    trouble: Counter[str] = field(default_factory=Counter)  # worker log lines by kind
    timed_out: bool = False
    answers: str = ""  # the creating requests' statuses, and a few failures, when not all 201

    @property
    def cpu_total_ms(self) -> float:
        return sum(self.cpu_ms.values())

    def per_refund(self, value: float | None) -> float | None:
        return None if value is None or not self.completed else value / self.completed


class Watch(threading.Thread):
    """Reads the refunds' progress and the processes' CPU every tick until ``expected``
    refunds have settled (completed or failed); keeps the backlog every ``every`` s."""

    def __init__(self, rig: Rig, meter: CpuMeter, expected: int) -> None:
        super().__init__(name="money-watch", daemon=True)
        self.rig, self.meter, self.expected = rig, meter, expected
        self.before = rig.progress.read()
        self.now = self.before
        self.backlog: list[tuple[float, int]] = []
        self.done = threading.Event()
        self.stopping = threading.Event()

    def settled(self) -> tuple[int, int, int]:
        """Created, completed, failed since the watch began."""
        created = sum(self.now.values()) - sum(self.before.values())
        completed = self.now["completed"] - self.before["completed"]
        return created, completed, self.now["failed"] - self.before["failed"]

    def run(self) -> None:
        started: float | None = None  # when the first refund was seen
        next_point = 0.0
        knobs = self.rig.knobs
        while not self.stopping.is_set():
            self.now = self.rig.progress.read()
            self.meter.sample()
            created, completed, failed = self.settled()
            if started is None and created:
                started = time.monotonic()
            at = 0.0 if started is None else time.monotonic() - started
            finished = completed + failed >= self.expected
            if started is not None and (at >= next_point or finished):
                self.backlog.append((at, created - completed - failed))
                next_point += knobs.sample_seconds
            if finished:
                self.done.set()
                return
            self.stopping.wait(knobs.tick_seconds)


def _worker_command(knobs: MoneyKnobs) -> list[str]:
    interval = [] if knobs.worker_interval is None else ["--interval", str(knobs.worker_interval)]
    return [str(BIN / "refundry"), "worker", *interval]


def _background_worker(rig: Rig, log_to: Path) -> AbstractContextManager[Popen[bytes]]:
    return background(_worker_command(rig.knobs), rig.env, log_to=log_to)


def _wait_ready(logs: list[Path], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not all(WORKER_READY in path.read_bytes() for path in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"a worker did not start within {seconds} s: see {logs}")
        time.sleep(0.1)


def drain_cell(rig: Rig, workers: int, latency_ms: int, orders: list[PlacedOrder]) -> Cell:
    knobs = rig.knobs
    cell = Cell(rig.database, workers, latency_ms, len(orders))
    log(f"  {rig.database}: {len(orders)} refunds, {workers} worker(s), gateway +{latency_ms} ms")
    rig.set_faults(latency_ms=latency_ms, settle_seconds=knobs.settle_seconds)
    requests = [rig.client.post(f"/v1/orders/{order.id}/refund",
                                {"lines": [{"line_id": order.line_ids[0], "quantity": 1}],
                                 "reason": "Arrived chipped"}, f"money-{order.id}")
                for order in orders]  # fmt: skip
    logs = [rig.logs / f"worker-{workers}-{latency_ms}-{i}.log" for i in range(workers)]
    with ExitStack() as stack:
        processes = [stack.enter_context(_background_worker(rig, path)) for path in logs]
        _wait_ready(logs)
        groups: dict[str, Callable[[], Iterable[int]]] = {
            "API": lambda: process_tree(rig.api.process.pid)
        }
        for number, process in enumerate(processes, 1):
            groups[f"worker {number}"] = lambda pid=process.pid: [pid]  # type: ignore[misc]
        groups["gateway"] = lambda: [rig.gateway_pid]
        if rig.counters is not None:
            counters = rig.counters
            groups["PostgreSQL backends"] = lambda: counters.backend_pids(rig.progress.backend_pid)
        meter = CpuMeter(groups)
        # Settled at the end of the last cell (or after the orders were made): since
        # then, only these workers' start-up and first idle rounds.
        db_before = rig.counters.last if rig.counters else None
        server_before = postgres_server_ticks() if rig.counters else None
        reads_before = rig.progress.reads
        # As autovacuum would have, with the tables as the cells before left them.
        rig.progress.analyze()
        meter.sample()
        watch = Watch(rig, meter, len(orders))
        watch.start()
        created = run_phase(Phase("refunds", rig.api.port, requests, knobs.concurrency,
                                  keep_bodies=False))  # fmt: skip
        cell.created = created.status_counts()[201]
        if cell.created != len(requests):
            cell.answers = f"{dict(created.status_counts())} {created.failures[:3]}"
        cell.created_per_s = created.per_second
        watch.expected = cell.created
        cell.timed_out = not watch.done.wait(knobs.drain_timeout)
        watch.stopping.set()
        watch.join()
        meter.sample()
        server_after = postgres_server_ticks() if rig.counters else None
    cell.cpu_ms = meter.ms()
    cell.backlog = watch.backlog
    if server_before is not None and server_after is not None:
        cell.server_cpu_ms = (server_after - server_before) * TICK_MS
    if rig.counters is not None and db_before is not None:
        after = rig.counters.settled()
        # The watch's reads of the progress: one statement in a transaction of its own each.
        own = rig.progress.reads - reads_before
        mine = DbCounters(commits=own, statements=None if after.statements is None else own)
        cell.db = after - db_before - mine
    for path in logs:
        text = path.read_text(errors="replace")
        for kind in WORKER_TROUBLE:
            cell.trouble[kind] += text.count(kind)
    return cell


def record_times(url: str, cell: Cell, orders: list[PlacedOrder]) -> None:
    """Completed refunds, and the drain's pace, from the stored times of the cell's refunds
    (read once the cells are over: a session of its own would be in the next one's count)."""
    refunds = order_tables.refunds
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(refunds.c.status, refunds.c.created_at, refunds.c.completed_at).where(
                    refunds.c.order_id.in_([uuid.UUID(order.id) for order in orders]),
                    refunds.c.kind == "refund",
                )
            ).all()
    finally:
        engine.dispose()
    done = [row.completed_at for row in rows if row.status == "completed"]
    cell.completed = len(done)
    if done:
        first: datetime = min(row.created_at for row in rows)
        cell.drain_seconds = (max(done) - first).total_seconds()
        cell.completed_per_s = cell.completed / cell.drain_seconds if cell.drain_seconds else None
