"""Money out, end to end, on one database: ``python -m benchmarks --only money``.

It starts what an operator runs: the sandbox card gateway (``refundry sandbox-psp``),
the API under uvicorn (as the HTTP scenarios serve it, told to send cards to that
gateway) and, for each cell of the matrix, 1 or 2 ``refundry worker`` processes with the
gateway at 0, 50 or 200 ms of added latency. Each cell creates its refunds as fast as a
client can (one partial refund per paid order, each keyed) and measures how fast they
are created and completed, the backlog as it goes, what every process spent in CPU, and
what the database did. After the matrix, every refund is checked against the gateway's
own record (``money_check``), and on PostgreSQL the framework ceiling runs (``ceiling``).

The knobs are in ``money_knobs``. SQLite runs one worker: its one writer is shared by
every process (see docs/performance.md), and more workers would only queue on it.
"""

from __future__ import annotations

import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.ceiling import Ceiling, run_ceiling
from benchmarks.db_counters import RefundProgress, ServerCounters
from benchmarks.http_scenarios import Client, Outcome
from benchmarks.http_server import BIN, api_server, background, free_port, log, prepare
from benchmarks.money_check import check_money
from benchmarks.money_drain import Cell, Rig, drain_cell, paid_orders, record_times
from benchmarks.money_knobs import MoneyKnobs


@dataclass(slots=True)
class MoneyOutcome:
    database: str
    cells: list[Cell] = field(default_factory=list)
    money: str = ""
    statements_counted: bool = False
    ceiling: Ceiling | None = None
    failures: list[str] = field(default_factory=list)


def run_money(url: str, database: str, knobs: MoneyKnobs) -> MoneyOutcome:
    log(f"{database}: money out")
    outcome = MoneyOutcome(database)
    sqlite = url.startswith("sqlite")
    matrix = [(workers, latency)
              for workers in ((1,) if sqlite else knobs.workers)
              for latency in knobs.latencies_ms]  # fmt: skip
    shop = prepare(url)
    gateway = f"http://127.0.0.1:{free_port()}"
    env = {
        "REFUNDRY_DATABASE_URL": url,
        "REFUNDRY_CARD_PROVIDER": "sandbox",
        "REFUNDRY_SANDBOX_PSP_URL": gateway,
        **({"REFUNDRY_REFUND_EVENTS_EXPECTED": "1"} if knobs.settle_by == "events" else {}),
        **knobs.env,
    }
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="refundry-money-")))
        psp = stack.enter_context(
            background(
                [str(BIN / "refundry"), "sandbox-psp", "--port", gateway.rsplit(":", 1)[1]],
                env,
                health=f"{gateway}/healthz",
            )
        )
        api = stack.enter_context(api_server(url, 1 if sqlite else knobs.api_workers, env))
        if knobs.settle_by == "events":
            # The sandbox's signed refund events go to the API, as Stripe's would.
            events = {"url": f"{api.base}/v1/providers/sandbox/events"}
            httpx.post(f"{gateway}/_sandbox/events", json=events).raise_for_status()
        progress = RefundProgress(url)
        stack.callback(progress.close)
        counters = None
        if not sqlite:
            counters = ServerCounters(url, knobs.stats_wait_seconds)
            stack.callback(counters.close)
            outcome.statements_counted = counters.statements_counted
        rig = Rig(knobs, database, url, env, api, gateway, psp.pid,
                  Client(api, shop, uuid.uuid4().hex[:8], knobs.ceiling.skus),
                  progress, counters, logs)  # fmt: skip
        prepared = Outcome()
        log(f"  {database}: {knobs.refunds * len(matrix):,} orders paid at the gateway")
        orders = paid_orders(rig, knobs.refunds * len(matrix), prepared)
        outcome.failures += prepared.failures
        if len(orders) < knobs.refunds * len(matrix):
            outcome.failures.append(f"money: {len(orders)} paid orders made, not enough")
            return outcome
        if counters is not None:
            counters.settled()  # the orders' making is not the cells' work
        chunks = [orders[number * knobs.refunds : (number + 1) * knobs.refunds]
                  for number in range(len(matrix))]  # fmt: skip
        for (workers, latency), chunk in zip(matrix, chunks, strict=True):
            outcome.cells.append(drain_cell(rig, workers, latency, chunk))
            if outcome.cells[-1].timed_out:
                break  # what is left would queue behind this cell's backlog
        for cell, chunk in zip(outcome.cells, chunks, strict=False):
            record_times(url, cell, chunk)
            outcome.failures += _cell_failures(cell, logs)
        checked = check_money(url, rig.gateway_state())
        outcome.money = checked.summary
        outcome.failures += checked.failures
        if not sqlite:
            ceiling, failures = run_ceiling(
                api, shop, url, database, knobs.ceiling, knobs.api_workers
            )
            outcome.ceiling = ceiling
            outcome.failures += failures
    return outcome


def _cell_failures(cell: Cell, logs: Path) -> list[str]:
    where = f"money, {cell.database}, {cell.workers} worker(s) at {cell.latency_ms} ms"
    failures = []
    if cell.created != cell.refunds:
        failures.append(
            f"{where}: {cell.refunds - cell.created} refunds not created: {cell.answers}"
        )
    if cell.timed_out or cell.completed != cell.created:
        tails = []
        for path in sorted(logs.glob(f"worker-{cell.workers}-{cell.latency_ms}-*.log")):
            tails += path.read_text(errors="replace").splitlines()[-5:]
        failures.append(
            f"{where}: {cell.completed} of {cell.created} refunds completed"
            f"{' before the time-out' if cell.timed_out else ''}; worker log ends: {tails}"
        )
    return failures
