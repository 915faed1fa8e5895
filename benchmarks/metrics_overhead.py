"""What the metrics cost (issue 22): ``python -m benchmarks.metrics_overhead
[--requests N] [--orders N] [--postgres URL]``.

1. The request middleware: an ASGI app that answers at once, called in a loop with
   and without ``RequestMetrics`` around it; the difference per request is what the
   middleware adds (a clock read, a route template, a histogram observation). Measured
   in single-process mode and, in a child process, in multiprocess mode (each
   observation is then a write to a memory-mapped file).
2. A scrape's read of the stored state on a database holding ``--orders`` generated
   orders and their refunds (SQLite, and PostgreSQL if given): what every scrape reads
   (``operations_state``: refunds in flight, the queues) and the count of every refund
   (``refunds_by_status``), which a process reads at most every 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

from benchmarks.databases import analyze, fresh_postgres, fresh_sqlite

ROUNDS = 5  # the best of these is reported: the machine's noise only ever adds time


@dataclass
class _Route:
    path: str = "/v1/orders/{order_id}/refund"


async def _answer(scope: dict[str, object], receive: object, send: object) -> None:
    scope["route"] = _Route()  # as FastAPI's router leaves it
    await send({"type": "http.response.start", "status": 201, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]


async def _loop(app: object, requests: int) -> float:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: object) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        scope = {"type": "http", "method": "POST", "path": "/v1/orders/x/refund", "root_path": ""}
        await app(scope, receive, send)  # type: ignore[operator]
    return time.perf_counter() - started


def middleware_overhead(requests: int) -> dict[str, float]:
    """Microseconds per request: bare, with the middleware, and the difference."""
    from refundry.entrypoints.api.request_metrics import RequestMetrics

    wrapped = RequestMetrics(_answer)  # type: ignore[arg-type]
    bare = min(asyncio.run(_loop(_answer, requests)) for _ in range(ROUNDS))
    metered = min(asyncio.run(_loop(wrapped, requests)) for _ in range(ROUNDS))
    per = 1e6 / requests
    return {"bare_us": bare * per, "metered_us": metered * per, "added_us": (metered - bare) * per}


def stored_state_read(url: str, orders: int) -> dict[str, float]:
    """Seconds a scrape's read of the stored state takes over ``orders`` orders."""
    from refundry.bootstrap import bootstrap
    from refundry.config import Settings
    from refundry.entrypoints import seed_data
    from refundry.services import clock, transactions
    from refundry.services.handlers.merchants import create_merchant
    from refundry.services.views.operations import operations_state, refunds_by_status

    container = bootstrap(Settings(database_url=url))
    try:
        made = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "M"))
        end = clock.utcnow()
        generated = seed_data.generate(
            made.merchant.id, orders, start=end - timedelta(days=365), end=end, seed=7
        )
        seed_data.insert(container.uow_factory, generated)
        if url.startswith("postgresql"):
            analyze(url)
        providers = container.provider_work.providers.names()
        scrape, totals = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            operations_state(container.read_models, clock.utcnow(), providers)
            scrape.append(time.perf_counter() - started)
            started = time.perf_counter()
            counts = refunds_by_status(container.read_models, providers)
            totals.append(time.perf_counter() - started)
        return {
            "refunds": float(sum(counts.values())),
            "scrape_seconds": min(scrape),
            "totals_seconds": min(totals),
        }
    finally:
        container.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is made)")
    parser.add_argument("--only-middleware", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.only_middleware:  # the child run in multiprocess mode
        print(json.dumps(middleware_overhead(options.requests)))
        return
    single = middleware_overhead(options.requests)
    with tempfile.TemporaryDirectory(prefix="refundry-metrics-") as directory:
        command = [sys.executable, "-m", "benchmarks.metrics_overhead", "--only-middleware"]
        child = subprocess.run(
            [*command, "--requests", str(options.requests)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory},
            capture_output=True,
            check=True,
            text=True,
        )
    multi = json.loads(child.stdout)
    print("| middleware, us per request | bare app | with RequestMetrics | added |")
    print("|---|---|---|---|")
    for mode, figures in (("single-process", single), ("multiprocess", multi)):
        print(
            f"| {mode} | {figures['bare_us']:.1f} | {figures['metered_us']:.1f} "
            f"| {figures['added_us']:.1f} |"
        )
    print()
    print(
        f"| stored state, {options.orders} orders | refunds | every scrape, s | every refund, s |"
    )
    print("|---|---|---|---|")
    databases = [("SQLite", fresh_sqlite())]
    if options.postgres:
        databases.append(("PostgreSQL", fresh_postgres(options.postgres)))
    for name, database in databases:
        with database as url:
            read = stored_state_read(url, options.orders)
        print(
            f"| {name} | {read['refunds']:.0f} | {read['scrape_seconds']:.3f} "
            f"| {read['totals_seconds']:.3f} |"
        )


if __name__ == "__main__":
    main()
