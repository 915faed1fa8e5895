"""Webhook delivery throughput to a loopback receiver: `python -m benchmarks.webhooks`.

For each database (a fresh SQLite file by default; with --postgres, a fresh database
created on that server and dropped at the end) and each worker count (--threads 1,2):

1. a merchant and its endpoint point at a receiver on a free loopback port serving the
   handler of ``refundry webhooks listen``, which verifies every delivery with the
   ``standardwebhooks`` package; with --keep-alive (the default) it speaks HTTP/1.1 and
   keeps connections open, with --no-keep-alive HTTP/1.0, a connection per request. It
   runs in a process of its own, as a merchant's server would (--no-receiver-process:
   in threads of this one, sharing the worker's GIL);
2. N webhook events are made through the use cases the API calls: orders are ingested,
   then half are cancelled (one ``cancelled`` event each) and half get two partial
   refunds (two ``refunded`` events), --batch orders a transaction. Not part of the
   delivery's time;
3. the ceiling, timed: the same bodies signed and POSTed with a plain ``httpx.Client``
   to a second receiver of the same kind (before and after the delivery, to see the
   drift), and sent through ``HttpWebhookSender`` alone, with no database; each worker
   thread keeps --concurrency requests in flight, as a worker does;
4. the delivery, timed: ``deliver_continuously``, as the worker's job runs it, in that
   many worker threads (each with its own sender, as separate workers would have; batches
   of --lease-batch deliveries, --concurrency requests in flight each) until nothing is
   due, with the time spent in transactions and in each request measured by wrappers;
5. checks, or the run fails: the receiver saw exactly N requests with N distinct
   ``webhook-id``s, the ids of this phase's events, all verified; every delivery row is
   ``delivered`` after exactly one attempt, with one attempt row each.

The worker threads, their sends and the raw and sender-only clients share one process
and its GIL, and everything (the receiver and the database server too) shares the
machine's cores: the figures are for this set-up, and the ratios are what to compare.
A tree from before batching (no ``deliver_continuously``) is measured as it was: one
delivery at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from benchmarks.databases import fresh_postgres, fresh_sqlite, libpq
from benchmarks.webhook_receivers import Receiver, running_receiver
from benchmarks.webhook_setup import (
    Clock,
    Shop,
    TimedSender,
    TimedUowFactory,
    code_version,
    delivery_rows,
    in_threads,
    open_shop,
    pending_bodies,
    produce,
    raw_posts,
    sender_only,
)
from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.webhooks import DeliveryState
from refundry.services.handlers import webhook_delivery
from refundry.services.handlers.webhook_delivery import WebhookWork


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Options:
    events: int
    threads: Sequence[int]
    batch: int  # orders a transaction when making events
    lease_batch: int  # deliveries leased and recorded a transaction
    concurrency: int  # requests in flight per worker
    keep_alive: bool
    receiver_process: bool


# ---------------------------------------------------------------- measurement
def check_received(receiver: Receiver, expected: set[str], what: str) -> dict[str, int]:
    got = receiver.received()
    ids = [webhook_id for webhook_id, _ in got]
    verified = sum(ok for _, ok in got)
    figures = {
        "requests": len(got),
        "distinct_ids": len(set(ids)),
        "verified": verified,
        "not_verified": len(got) - verified,
    }
    if len(got) != len(expected) or set(ids) != expected or verified != len(got):
        raise AssertionError(f"{what}: expected {len(expected)} verified, distinct: {figures}")
    return figures


def deliver_all(
    container: Container, threads: int, options: Options
) -> tuple[float, float, list[Clock], list[Clock]]:
    """Worker threads deliver until nothing is due; wall and CPU seconds (this process's,
    all threads), send and transaction clocks."""
    base = container.webhook_work
    timeout = container.settings.webhook_timeout_seconds
    # An older tree (before batches) can be measured with the same harness.
    batching = {"batch_size": options.lease_batch, "concurrency": options.concurrency}
    works = [
        replace(
            base,
            uow_factory=TimedUowFactory(base.uow_factory),
            sender=TimedSender(
                HttpWebhookSender(timedelta(seconds=timeout), allow_private_networks=True)
            ),
            **{name: value for name, value in batching.items() if hasattr(base, name)},
        )
        for _ in range(threads)
    ]
    rounds = getattr(webhook_delivery, "deliver_continuously", None)

    def worker(work: WebhookWork) -> None:
        # As the worker's job runs it: rounds of 5 s until one delivers nothing.
        while rounds(work, 5.0) if rounds else webhook_delivery.deliver_due_webhooks(work):
            pass

    try:
        with ThreadPoolExecutor(threads) as pool:
            started, cpu = time.perf_counter(), time.process_time()
            futures = [pool.submit(worker, work) for work in works]
            for future in futures:
                future.result()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for work in works:
            work.sender.inner.close()  # type: ignore[attr-defined]
    sends = [work.sender.clock for work in works]  # type: ignore[attr-defined]
    transactions_ = [work.uow_factory.clock for work in works]  # type: ignore[attr-defined]
    return seconds, cpu, sends, transactions_


def rate(events: int, seconds: float) -> float:
    return round(events / seconds, 1)


def phase(
    container: Container,
    shop: Shop,
    receivers: tuple[Receiver, Receiver],
    threads: int,
    options: Options,
) -> dict[str, Any]:
    state, raw_state = receivers
    raw_url = raw_state.url
    events, concurrency = options.events, options.concurrency
    timeout = container.settings.webhook_timeout_seconds
    started = time.perf_counter()
    produce(container, shop, events, options.batch)
    production = time.perf_counter() - started
    bodies = pending_bodies(container, shop)
    expected = {event_id for event_id, _ in bodies}
    if len(bodies) != events or len(expected) != events:
        raise AssertionError(f"made {len(bodies)} pending deliveries, not {events}")
    log(f"  {threads} worker(s): {events} events made in {production:.1f} s")

    raw_job = raw_posts(raw_url, shop.secret, timeout, concurrency)
    raw_state.reset()
    raw_before = in_threads(bodies, threads, raw_job)
    check_received(raw_state, expected, "raw POSTs before")
    raw_state.reset()
    sender = in_threads(bodies, threads, sender_only(raw_url, shop.secret, timeout, concurrency))
    check_received(raw_state, expected, "sender alone")

    state.reset()
    seconds, cpu, sends, txns = deliver_all(container, threads, options)
    receiver = check_received(state, expected, "deliveries")

    raw_state.reset()
    raw_after = in_threads(bodies, threads, raw_job)
    check_received(raw_state, expected, "raw POSTs after")

    raw = statistics.mean([raw_before, raw_after])
    send_seconds = sum(clock.seconds for clock in sends)
    txn_seconds = sum(clock.seconds for clock in txns)
    transactions = sum(clock.calls for clock in txns)
    result = {
        "threads": threads,
        "events": events,
        "production_events_per_s": rate(events, production),
        "raw_post_events_per_s": {
            "before": rate(events, raw_before),
            "after": rate(events, raw_after),
        },
        "sender_only_events_per_s": rate(events, sender),
        "delivery_seconds": round(seconds, 2),
        "delivery_events_per_s": rate(events, seconds),
        "ratio_delivery_to_raw": round(raw / seconds, 3),
        "ratio_delivery_to_sender": round(sender / seconds, 3),
        "ratio_sender_to_raw": round(raw / sender, 3),
        "wall_ms_per_delivery": round(seconds * 1000 / events, 3),
        # CPU of this whole process (the receiver's too, unless --receiver-process).
        "process_cpu_ms_per_delivery": round(cpu * 1000 / events, 3),
        # Worker thread time per delivery in transactions (summed over the workers; while
        # one batch is recorded and the next leased, the batch between is being sent).
        "transaction_ms_per_delivery": round(txn_seconds * 1000 / events, 3),
        "ms_per_transaction": round(txn_seconds * 1000 / max(transactions, 1), 3),
        "request_ms_mean": round(send_seconds * 1000 / max(sum(c.calls for c in sends), 1), 3),
        "transactions_per_delivery": round(transactions / events, 3),
        "receiver": receiver,
    }
    log(
        f"  {threads} worker(s): {result['delivery_events_per_s']} deliveries/s, "
        f"raw {result['raw_post_events_per_s']}, ratio {result['ratio_delivery_to_raw']}"
    )
    return result


def run_database(name: str, url: str, options: Options) -> dict[str, Any]:
    log(f"{name}:")
    # The receiver is on loopback, which the sender refuses unless told otherwise.
    container = bootstrap(Settings(database_url=url, webhook_allow_private_networks=True))
    kind = {"keep_alive": options.keep_alive, "own_process": options.receiver_process}
    try:
        with (
            running_receiver(**kind) as receiver,
            running_receiver(**kind) as raw_receiver,
        ):
            shop = open_shop(container, receiver.url)
            receiver.add_secret(shop.secret)
            raw_receiver.add_secret(shop.secret)
            pair = (receiver, raw_receiver)
            phases = [phase(container, shop, pair, count, options) for count in options.threads]
        rows = delivery_rows(container, shop)
        total = options.events * len(options.threads)
        if rows != {f"{DeliveryState.DELIVERED.value} after 1": total, "attempt log rows": total}:
            raise AssertionError(f"deliveries are not all delivered at the first attempt: {rows}")
    finally:
        container.webhook_work.sender.close()  # type: ignore[attr-defined]
        container.engine.dispose()
    result: dict[str, Any] = {"database": name, "phases": phases, "delivery_rows": rows}
    if len(phases) > 1:
        first = phases[0]
        result["scaling"] = {
            f"{p['threads']}/{first['threads']} workers": {
                "delivery": round(p["delivery_events_per_s"] / first["delivery_events_per_s"], 2),
                "raw": round(
                    statistics.mean(p["raw_post_events_per_s"].values())
                    / statistics.mean(first["raw_post_events_per_s"].values()),
                    2,
                ),
            }
            for p in phases[1:]
        }
    return result


def parse() -> tuple[Options, bool, str | None]:
    defaults = WebhookWork(uow_factory=None, sender=None)  # type: ignore[arg-type]
    batch_size = defaults.batch_size
    concurrency = getattr(defaults, "concurrency", 1)  # 1: a tree from before batching
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per worker count")
    parser.add_argument(
        "--threads",
        default="1,2",
        help="comma-separated worker thread counts, one phase each (default 1,2)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=25,
        help="orders ingested (then cancelled or refunded) per transaction when making events",
    )
    parser.add_argument(
        "--lease-batch",
        type=int,
        default=batch_size,
        help=f"deliveries a worker leases per transaction (default {batch_size})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=concurrency,
        help=f"requests in flight per worker (default {concurrency})",
    )
    parser.add_argument(
        "--keep-alive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the receivers keep connections open (HTTP/1.1; default) or close each (HTTP/1.0)",
    )
    parser.add_argument(
        "--receiver-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the receivers in a process of their own, as a merchant's server is "
        "(default), or in this process's threads, sharing its GIL with the worker",
    )
    parser.add_argument(
        "--sqlite",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run on a fresh SQLite file (default: yes)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("REFUNDRY_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server URL: also run on a fresh database created there and dropped",
    )
    args = parser.parse_args()
    threads = [int(count) for count in args.threads.split(",")]
    if min(args.events, args.batch, args.lease_batch, args.concurrency, *threads) < 1:
        parser.error("every count must be at least 1")
    if not args.sqlite and not args.postgres:
        parser.error("nothing to run: --no-sqlite needs --postgres")
    options = Options(
        args.events,
        threads,
        args.batch,
        args.lease_batch,
        args.concurrency,
        args.keep_alive,
        args.receiver_process,
    )
    return options, args.sqlite, args.postgres


def main() -> None:
    options, sqlite, postgres = parse()
    results = []
    if sqlite:
        with fresh_sqlite("webhooks.db") as url:
            results.append(run_database("SQLite", url, options))
    if postgres:
        with fresh_postgres(postgres) as url:
            with psycopg.connect(libpq(url)) as connection:
                version = connection.info.server_version
            name = f"PostgreSQL {version // 10000}.{version % 10000}"
            results.append(run_database(name, url, options))
    summary = {
        "code": code_version(),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "receiver": ("HTTP/1.1 keep-alive" if options.keep_alive else "HTTP/1.0")
            + (", own process" if options.receiver_process else ", in-process threads"),
            "lease_batch": options.lease_batch,
            "concurrency": options.concurrency,
        },
        "results": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
