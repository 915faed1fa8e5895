"""Webhook delivery throughput to a loopback receiver: `python -m benchmarks.webhooks`.

For each database (a fresh SQLite file by default; with --postgres, a fresh database
created on that server and dropped at the end) and each worker count (--threads 1,2):

1. a merchant and its endpoint point at ``running_listener`` on a free loopback port,
   which verifies every delivery with the ``standardwebhooks`` package;
2. N webhook events are made through the use cases the API calls: orders are ingested,
   then half are cancelled (one ``cancelled`` event each) and half get two partial
   refunds (two ``refunded`` events), --batch orders a transaction. Not part of the
   delivery's time;
3. the ceiling, timed: the same bodies signed and POSTed with a plain ``httpx.Client``
   to a second receiver of the same kind (before and after the delivery, to see the
   drift), and sent through ``HttpWebhookSender`` alone, with no database;
4. the delivery, timed: ``deliver_due_webhooks`` in that many worker threads (each with
   its own sender, as separate workers would have) until nothing is due, with the time
   spent in sends and in transactions measured by wrappers;
5. checks, or the run fails: the receiver saw exactly N requests with N distinct
   ``webhook-id``s, the ids of this phase's events, all verified; every delivery row is
   ``delivered`` after exactly one attempt.

Everything runs in one process (receiver threads too), so sends and the receiver share
the GIL: the figures are for this set-up, and the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from refundry.adapters.db import tables
from refundry.adapters.webhooks.http_sender import USER_AGENT, HttpWebhookSender, signature_headers
from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain.order import Customer, LineKind, Order
from refundry.domain.order_placement import NewLine
from refundry.domain.refund_calculation import LineRefundRequest, RefundRequest
from refundry.domain.webhooks import DeliveryAttempt, DeliveryState, EventType
from refundry.entrypoints.webhook_listener import ListenerState, running_listener
from refundry.services import orders, transactions, webhooks
from refundry.services.cancel_order import cancel_order
from refundry.services.merchants import authenticate, create_merchant
from refundry.services.refund_order import refund_order
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory
from refundry.services.webhook_delivery import WebhookWork, deliver_due_webhooks

LINES = [
    NewLine("MUG-STONE", "Stoneware mug", LineKind.PHYSICAL, 2, 1290, discount=258, tax=464),
    NewLine("POT-CAST", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, tax=1098),
    NewLine("TEA-SENCHA", "Sencha green tea 100 g", LineKind.PHYSICAL, 3, 890, 100, 514),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------- databases
def _libpq(server: str) -> str:
    return make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres(server: str) -> Iterator[str]:
    """A database of its own on ``server`` (never the one the URL names), dropped after."""
    name = f"refundry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server).set(database=name, drivername="postgresql+psycopg")
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="refundry-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'webhooks.db'}"


# ------------------------------------------------------------ instrumentation
@dataclass
class Clock:
    """Seconds and calls accumulated by one worker thread (no lock: one thread each)."""

    seconds: float = 0.0
    calls: int = 0

    def add(self, started: float) -> None:
        self.seconds += time.perf_counter() - started
        self.calls += 1


class TimedUnitOfWork(AbstractContextManager[UnitOfWork]):
    def __init__(self, inner: UnitOfWork, clock: Clock) -> None:
        self._inner, self._clock, self._started = inner, clock, 0.0

    def __enter__(self) -> UnitOfWork:
        self._started = time.perf_counter()
        return self._inner.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._inner.__exit__(exc_type, exc, traceback)
        finally:
            self._clock.add(self._started)


@dataclass
class TimedUowFactory:
    """Times each transaction from its BEGIN to its COMMIT and connection release."""

    inner: UnitOfWorkFactory
    clock: Clock = field(default_factory=Clock)

    def __call__(self, *, write: bool = True) -> UnitOfWork:
        return TimedUnitOfWork(self.inner(write=write), self.clock)  # type: ignore[return-value]


@dataclass
class TimedSender:
    """Times each send, signing included."""

    inner: HttpWebhookSender
    clock: Clock = field(default_factory=Clock)

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt:
        started = time.perf_counter()
        try:
            return self.inner.send(url, message_id, body, signing_secrets, now)
        finally:
            self.clock.add(started)


# ------------------------------------------------------------------ production
@dataclass(frozen=True, slots=True)
class Shop:
    merchant_id: uuid.UUID
    actor: str
    endpoint_id: uuid.UUID
    secret: str


def open_shop(container: Container, url: str) -> Shop:
    made = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Bench shop"))
    actor = transactions.read(
        container.uow_factory, lambda uow: authenticate(uow, made.api_key).actor
    )
    endpoint = transactions.run(
        container.uow_factory,
        lambda uow: webhooks.create_endpoint(
            uow, made.merchant.id, url=url, enabled_events=list(EventType), description="bench"
        ),
    )
    return Shop(made.merchant.id, actor, endpoint.id, endpoint.secret)


def produce(container: Container, shop: Shop, events: int, batch: int) -> None:
    """Exactly ``events`` webhook events through the use cases: every other order is
    cancelled (one ``cancelled`` event), the others get two partial refunds (two
    ``refunded`` events). To make events faster than one call a transaction, ``batch``
    orders are ingested in one transaction, then cancelled or refunded once in the
    next, and refunded again in a third, as a second call would."""
    made = number = 0
    while made < events:
        plan: list[tuple[orders.PlaceOrder, int]] = []  # each order and its events
        while made < events and len(plan) < batch:
            number += 1
            count = 1 if number % 2 == 0 or events - made == 1 else 2
            plan.append((_order(shop, number), count))
            made += count
        commands = [command for command, _ in plan]
        placed = transactions.run(container.uow_factory, partial(_ingest, commands=commands))
        first = [(order, n == 1) for order, (_, n) in zip(placed, plan, strict=True)]
        second = [(order, False) for order, (_, n) in zip(placed, plan, strict=True) if n == 2]
        for rounds, line in ((first, 0), (second, 2)):  # a mug, then a tea
            transactions.run(
                container.uow_factory,
                partial(_follow_up, container=container, shop=shop, placed=rounds, line=line),
            )


def _ingest(uow: UnitOfWork, commands: Sequence[orders.PlaceOrder]) -> list[Order]:
    return [orders.ingest_order(uow, command) for command in commands]


def _order(shop: Shop, number: int) -> orders.PlaceOrder:
    return orders.PlaceOrder(
        merchant_id=shop.merchant_id,
        external_id=f"bench-{uuid.uuid4().hex[:12]}",
        customer=Customer(f"customer{number}@example.com"),
        currency_code="EUR",
        lines=LINES,
        shipping_amount=490,
        shipping_tax=98,
    )


def _follow_up(
    uow: UnitOfWork,
    container: Container,
    shop: Shop,
    placed: Sequence[tuple[Order, bool]],
    line: int,
) -> None:
    """Cancel each order marked so, or refund one unit of its ``line``."""
    for order, cancel in placed:
        if cancel:
            cancel_order(
                uow,
                shop.merchant_id,
                order.id,
                reason="Customer changed their mind",
                status_label=None,
                actor=shop.actor,
            )
            continue
        refund_order(
            uow,
            container.quotes,
            shop.merchant_id,
            order.id,
            RefundRequest(lines=(LineRefundRequest(order.lines[line].id, 1, restock=True),)),
            method=None,
            reason="Arrived damaged",
            quote=None,
            actor=shop.actor,
        )


def pending_bodies(container: Container, shop: Shop) -> list[tuple[str, str]]:
    """(event id, body) of every delivery the endpoint is owed."""
    d, ev = tables.webhook_deliveries, tables.webhook_events
    with container.engine.connect() as connection:
        rows = connection.execute(
            sa.select(ev.c.id, ev.c.payload)
            .join(d, d.c.event_id == ev.c.id)
            .where(d.c.endpoint_id == shop.endpoint_id, d.c.state == DeliveryState.PENDING.value)
        ).all()
    return [(str(event_id), payload) for event_id, payload in rows]


def delivery_rows(container: Container, shop: Shop) -> dict[str, int]:
    d, a = tables.webhook_deliveries, tables.webhook_attempts
    with container.engine.connect() as connection:
        grouped = connection.execute(
            sa.select(d.c.state, d.c.attempts, sa.func.count())
            .where(d.c.endpoint_id == shop.endpoint_id)
            .group_by(d.c.state, d.c.attempts)
        ).all()
        attempts = connection.execute(
            sa.select(sa.func.count())
            .select_from(a.join(d, d.c.id == a.c.delivery_id))
            .where(d.c.endpoint_id == shop.endpoint_id)
        ).scalar_one()
    shown = {f"{state} after {tries}": count for state, tries, count in grouped}
    return {**shown, "attempt log rows": attempts}


# ---------------------------------------------------------------- measurement
def in_threads(items: Sequence[Any], threads: int, job: Callable[[Sequence[Any]], None]) -> float:
    """Seconds for ``threads`` threads to do ``job`` on their share of ``items`` each."""
    shares = [items[index::threads] for index in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        futures = [pool.submit(job, share) for share in shares]
        for future in futures:
            future.result()
        return time.perf_counter() - started


def raw_posts(url: str, secret: str, timeout: float) -> Callable[[Sequence[Any]], None]:
    """Plain signed POSTs: what any HTTP client must do at the least."""

    def job(bodies: Sequence[tuple[str, str]]) -> None:
        with httpx.Client(timeout=timeout, headers={"user-agent": USER_AGENT}) as client:
            for event_id, body in bodies:
                headers = {
                    "content-type": "application/json",
                    **signature_headers(event_id, body, [secret], datetime.now(UTC)),
                }
                client.post(url, content=body.encode(), headers=headers).raise_for_status()

    return job


def sender_only(url: str, secret: str, timeout: float) -> Callable[[Sequence[Any]], None]:
    """Refundry's sender with no database around it."""

    def job(bodies: Sequence[tuple[str, str]]) -> None:
        sender = HttpWebhookSender(timedelta(seconds=timeout), allow_private_networks=True)
        try:
            for event_id, body in bodies:
                attempt = sender.send(url, event_id, body, [secret], datetime.now(UTC))
                if not attempt.succeeded:
                    raise RuntimeError(f"the sender failed: {attempt.error}")
        finally:
            sender.close()

    return job


def check_received(
    state: ListenerState, expected: set[str], what: str, since: int = 0
) -> dict[str, int]:
    got = state.delivered()[since:]
    ids = [received.webhook_id for received in got]
    verified = sum(received.verified for received in got)
    figures = {
        "requests": len(got),
        "distinct_ids": len(set(ids)),
        "verified": verified,
        "not_verified": len(got) - verified,
    }
    if len(got) != len(expected) or set(ids) != expected or verified != len(got):
        raise AssertionError(f"{what}: expected {len(expected)} verified, distinct: {figures}")
    return figures


def reset(state: ListenerState) -> None:
    with state.lock:
        state.received.clear()


def deliver_all(container: Container, threads: int) -> tuple[float, list[Clock], list[Clock]]:
    """Worker threads deliver until nothing is due; wall seconds, send and transaction clocks."""
    base = container.webhook_work
    timeout = container.settings.webhook_timeout_seconds
    works = [
        replace(
            base,
            uow_factory=TimedUowFactory(base.uow_factory),
            sender=TimedSender(
                HttpWebhookSender(timedelta(seconds=timeout), allow_private_networks=True)
            ),
        )
        for _ in range(threads)
    ]

    def worker(work: WebhookWork) -> None:
        while deliver_due_webhooks(work):
            pass

    try:
        with ThreadPoolExecutor(threads) as pool:
            started = time.perf_counter()
            futures = [pool.submit(worker, work) for work in works]
            for future in futures:
                future.result()
            seconds = time.perf_counter() - started
    finally:
        for work in works:
            work.sender.inner.close()  # type: ignore[attr-defined]
    sends = [work.sender.clock for work in works]  # type: ignore[attr-defined]
    transactions_ = [work.uow_factory.clock for work in works]  # type: ignore[attr-defined]
    return seconds, sends, transactions_


def rate(events: int, seconds: float) -> float:
    return round(events / seconds, 1)


def phase(
    container: Container,
    shop: Shop,
    listeners: tuple[ListenerState, str, ListenerState, str],
    events: int,
    threads: int,
    batch: int,
) -> dict[str, Any]:
    state, _, raw_state, raw_url = listeners
    timeout = container.settings.webhook_timeout_seconds
    started = time.perf_counter()
    produce(container, shop, events, batch)
    production = time.perf_counter() - started
    bodies = pending_bodies(container, shop)
    expected = {event_id for event_id, _ in bodies}
    if len(bodies) != events or len(expected) != events:
        raise AssertionError(f"made {len(bodies)} pending deliveries, not {events}")
    log(f"  {threads} worker(s): {events} events made in {production:.1f} s")

    reset(raw_state)
    raw_before = in_threads(bodies, threads, raw_posts(raw_url, shop.secret, timeout))
    check_received(raw_state, expected, "raw POSTs before")
    reset(raw_state)
    sender = in_threads(bodies, threads, sender_only(raw_url, shop.secret, timeout))
    check_received(raw_state, expected, "sender alone")

    reset(state)
    seconds, sends, txns = deliver_all(container, threads)
    receiver = check_received(state, expected, "deliveries")

    reset(raw_state)
    raw_after = in_threads(bodies, threads, raw_posts(raw_url, shop.secret, timeout))
    check_received(raw_state, expected, "raw POSTs after")

    raw = statistics.mean([raw_before, raw_after])
    send_seconds = sum(clock.seconds for clock in sends)
    txn_seconds = sum(clock.seconds for clock in txns)
    busy = seconds * threads
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
        # Thread time (summed over the workers, so it adds up to threads x wall):
        "thread_ms_per_delivery": {
            "send": round(send_seconds * 1000 / events, 3),
            "transactions": round(txn_seconds * 1000 / events, 3),
            "other": round((busy - send_seconds - txn_seconds) * 1000 / events, 3),
        },
        "transactions_per_delivery": round(sum(clock.calls for clock in txns) / events, 2),
        "receiver": receiver,
    }
    log(
        f"  {threads} worker(s): {result['delivery_events_per_s']} deliveries/s, "
        f"raw {result['raw_post_events_per_s']}, ratio {result['ratio_delivery_to_raw']}"
    )
    return result


def run_database(
    name: str, url: str, events: int, threads: Sequence[int], batch: int
) -> dict[str, Any]:
    log(f"{name}:")
    # The receiver is on loopback, which the sender refuses unless told otherwise.
    container = bootstrap(Settings(database_url=url, webhook_allow_private_networks=True))
    state, raw_state = ListenerState(), ListenerState()
    try:
        with (
            running_listener(0, state) as endpoint_url,
            running_listener(0, raw_state) as raw_url,
        ):
            shop = open_shop(container, endpoint_url)
            state.signing_secrets.append(shop.secret)
            raw_state.signing_secrets.append(shop.secret)
            listeners = (state, endpoint_url, raw_state, raw_url)
            phases = [phase(container, shop, listeners, events, count, batch) for count in threads]
        rows = delivery_rows(container, shop)
        total = events * len(threads)
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


def code_version() -> dict[str, Any]:
    """The commit measured and the files of src/ changed since (the tree is what ran)."""
    git = shutil.which("git")
    if git is None:
        return {}
    root = Path(__file__).resolve().parents[1]

    def ask(*arguments: str) -> str:
        return subprocess.run(
            [git, *arguments], cwd=root, capture_output=True, text=True, check=False
        ).stdout

    changed = ask("status", "--porcelain", "--", "src").splitlines()
    return {
        "commit": ask("rev-parse", "--short", "HEAD").strip(),
        "src_changed": [line[3:] for line in changed],  # "XY path"
        "src_diff_sha256": hashlib.sha256(ask("diff", "HEAD", "--", "src").encode()).hexdigest(),
    }


def main() -> None:
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
    if min(args.events, args.batch, *threads) < 1:
        parser.error("--events, --batch and every --threads count must be at least 1")
    if not args.sqlite and not args.postgres:
        parser.error("nothing to run: --no-sqlite needs --postgres")
    results = []
    if args.sqlite:
        with fresh_sqlite() as url:
            results.append(run_database("SQLite", url, args.events, threads, args.batch))
    if args.postgres:
        with fresh_postgres(args.postgres) as url:
            with psycopg.connect(_libpq(url)) as connection:
                version = connection.info.server_version
            name = f"PostgreSQL {version // 10000}.{version % 10000}"
            results.append(run_database(name, url, args.events, threads, args.batch))
    summary = {
        "code": code_version(),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
