"""Every knob of the money-out benchmark, in one place: its sizes by mode, the matrix of
worker counts and gateway latencies, and how the worker is started and configured.

The worker is started as an operator starts it today (``refundry worker``, its default
interval); a setting it gains later (a batch size, a number of concurrent gateway
calls) is passed with ``--money-env NAME=VALUE``, which reaches the API and every worker.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from benchmarks.db_counters import STATS_FLUSH_SECONDS
from benchmarks.http_scenarios import Settings


@dataclass(frozen=True, slots=True)
class MoneyKnobs:
    refunds: int  # partial refunds created in each cell of the matrix
    workers: tuple[int, ...] = (1, 2)  # `refundry worker` processes (SQLite: 1 only)
    latencies_ms: tuple[int, ...] = (0, 50, 200)  # the sandbox gateway's added latency
    # 0: an accepted refund is pending once and has settled when the worker next reads it
    # (each refund is then one refund call, one poll, and the outbox's backoff between).
    settle_seconds: float = 0.0
    # How a refund settles: "events" (the sandbox sends its signed refund events to the
    # API, the workers expect them and poll only as a fallback) or "polls" (no events).
    settle_by: str = "events"
    worker_interval: float | None = None  # seconds between rounds; None: the CLI's default
    env: Mapping[str, str] = field(default_factory=dict)  # for the API and the workers
    concurrency: int = 32  # connections creating the refunds, as fast as they are answered
    api_workers: int = 2  # uvicorn processes on PostgreSQL; SQLite runs one
    sample_seconds: float = 2.0  # the backlog's time series
    tick_seconds: float = 0.25  # CPU and progress are read this often
    timeout_seconds: float | None = None  # for the last refund to complete; None: generous
    # For PostgreSQL's counters to take in every backend's last transactions (db_counters).
    stats_wait_seconds: float = STATS_FLUSH_SECONDS
    # The framework ceiling: requests a scenario, parts, untimed warm-up, connections.
    ceiling: Settings = field(default_factory=lambda: Settings(2000, 200, 32, 0, 4))

    @property
    def drain_timeout(self) -> float:
        # A refund a second at the slowest, a minute of slack: a run that misses this
        # has stopped draining, not merely drained slowly.
        return self.timeout_seconds or 60.0 + self.refunds


MODES = {
    # Smoke runs check that it all works: counts a backend holds back a little longer
    # than 2 s are missed there.
    "smoke": MoneyKnobs(
        refunds=8, stats_wait_seconds=2.0, ceiling=Settings(200, 20, 16, 0, 2)
    ),  # a ceiling of a few hundred requests: enough to see it run, not to measure
    # Today's worker drains about 2 refunds/s at 200 ms: 150 keeps the default run to
    # minutes; --full or --money-refunds for more once it is faster.
    "default": MoneyKnobs(refunds=150),
    "full": MoneyKnobs(refunds=1000),
}


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _assignment(text: str) -> tuple[str, str]:
    name, sign, value = text.partition("=")
    if not sign or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("money out (--only money)")
    group.add_argument("--money-refunds", type=int, help="refunds created in each cell")
    group.add_argument("--money-workers", type=_numbers, help="worker counts, e.g. 1,2")
    group.add_argument("--money-latencies", type=_numbers, help="gateway ms, e.g. 0,50,200")
    group.add_argument("--money-settle-seconds", type=float, help="the gateway's settle time")
    group.add_argument(
        "--money-settle-by", choices=("events", "polls"), help="how refunds settle (events)"
    )
    group.add_argument("--money-worker-interval", type=float, help="`refundry worker --interval`")
    group.add_argument(
        "--money-env",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment for the API and the workers (a worker setting); repeatable",
    )
    group.add_argument("--money-timeout", type=float, help="seconds for a cell's refunds")


def knobs_from(args: argparse.Namespace, mode: str, http: Settings) -> MoneyKnobs:
    """The mode's knobs with the command line's changes; the ceiling's load is the HTTP
    scenarios' (requests, parts, connections), so the two parts compare alike."""
    base = MODES[mode]
    changes: dict[str, object] = {
        "api_workers": args.workers,
        "concurrency": http.concurrency,
        "ceiling": http,
        "env": dict(args.money_env),
    }
    for name, value in (
        ("refunds", args.money_refunds),
        ("workers", args.money_workers),
        ("latencies_ms", args.money_latencies),
        ("settle_seconds", args.money_settle_seconds),
        ("settle_by", args.money_settle_by),
        ("worker_interval", args.money_worker_interval),
        ("timeout_seconds", args.money_timeout),
    ):
        if value is not None:
            changes[name] = value
    return replace(base, **changes)  # type: ignore[arg-type]


def describe(knobs: MoneyKnobs) -> str:
    """The knobs as a sentence, printed above the tables."""
    interval = "its default" if knobs.worker_interval is None else f"{knobs.worker_interval:g} s"
    env = ", ".join(f"{name}={value}" for name, value in knobs.env.items()) or "none"
    return (
        f"{knobs.refunds:,} partial refunds a cell, created by {knobs.concurrency} connections; "
        f"workers {', '.join(map(str, knobs.workers))} (1 on SQLite); gateway latency "
        f"{', '.join(map(str, knobs.latencies_ms))} ms, settle_seconds "
        f"{knobs.settle_seconds:g}, refunds settled by {knobs.settle_by}; "
        f"`refundry worker` interval {interval}; extra environment: "
        f"{env}; uvicorn workers {knobs.api_workers} on PostgreSQL, 1 on SQLite; time-out "
        f"{knobs.drain_timeout:,.0f} s a cell; the ceiling: {knobs.ceiling.requests:,} timed "
        f"requests a scenario in {knobs.ceiling.parts} parts, {knobs.ceiling.concurrency} "
        "connections"
    )
