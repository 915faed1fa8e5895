"""What the webhook benchmark runs against: fresh databases, the events made through the
use cases, wrappers that time transactions and sends, and the ceilings (plain POSTs, the
sender alone)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import sqlalchemy as sa

from refundry.adapters.db.tables import webhooks as webhook_tables
from refundry.adapters.webhooks.http_sender import USER_AGENT, HttpWebhookSender, signature_headers
from refundry.bootstrap import Container
from refundry.domain.order import (
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    RefundRequest,
)
from refundry.domain.webhooks import DeliveryAttempt, DeliveryState, EventType
from refundry.services import transactions
from refundry.services.handlers import orders, webhooks
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.handlers.merchants import authenticate, create_merchant
from refundry.services.handlers.refunds import refund_order
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

LINES = [
    NewLine("MUG-STONE", "Stoneware mug", LineKind.PHYSICAL, 2, 1290, discount=258, tax=464),
    NewLine("POT-CAST", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, tax=1098),
    NewLine("TEA-SENCHA", "Sencha green tea 100 g", LineKind.PHYSICAL, 3, 890, 100, 514),
]


# ------------------------------------------------------------ instrumentation
@dataclass
class Clock:
    """Seconds and calls accumulated by one worker (its sending threads share it)."""

    seconds: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, started: float) -> None:
        spent = time.perf_counter() - started
        with self.lock:
            self.seconds += spent
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
    """Times each send, signing included (the sum over a worker's concurrent sends)."""

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
            uow,
            made.merchant.id,
            url=url,
            enabled_events=list(EventType),
            description="bench",
            allow_private_networks=True,  # the benchmark's receiver listens on loopback
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
    d, ev = webhook_tables.webhook_deliveries, webhook_tables.webhook_events
    with container.engine.connect() as connection:
        rows = connection.execute(
            sa.select(ev.c.id, ev.c.payload)
            .join(d, d.c.event_id == ev.c.id)
            .where(d.c.endpoint_id == shop.endpoint_id, d.c.state == DeliveryState.PENDING.value)
        ).all()
    return [(str(event_id), payload) for event_id, payload in rows]


def delivery_rows(container: Container, shop: Shop) -> dict[str, int]:
    d, a = webhook_tables.webhook_deliveries, webhook_tables.webhook_attempts
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


# ------------------------------------------------------------------- ceilings
def in_threads(items: Sequence[Any], threads: int, job: Callable[[Sequence[Any]], None]) -> float:
    """Seconds for ``threads`` threads to do ``job`` on their share of ``items`` each."""
    shares = [items[index::threads] for index in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        futures = [pool.submit(job, share) for share in shares]
        for future in futures:
            future.result()
        return time.perf_counter() - started


def concurrently(items: Sequence[Any], concurrency: int, one: Callable[[Any], None]) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(one, items):
            pass


def raw_posts(
    url: str, secret: str, timeout: float, concurrency: int
) -> Callable[[Sequence[Any]], None]:
    """Plain signed POSTs, ``concurrency`` in flight: what any HTTP client must do."""

    def job(bodies: Sequence[tuple[str, str]]) -> None:
        with httpx.Client(timeout=timeout, headers={"user-agent": USER_AGENT}) as client:

            def post(item: tuple[str, str]) -> None:
                event_id, body = item
                headers = {
                    "content-type": "application/json",
                    **signature_headers(event_id, body, [secret], datetime.now(UTC)),
                }
                client.post(url, content=body.encode(), headers=headers).raise_for_status()

            concurrently(bodies, concurrency, post)

    return job


def sender_only(
    url: str, secret: str, timeout: float, concurrency: int
) -> Callable[[Sequence[Any]], None]:
    """Refundry's sender with no database around it, ``concurrency`` sends at once."""

    def job(bodies: Sequence[tuple[str, str]]) -> None:
        sender = HttpWebhookSender(timedelta(seconds=timeout), allow_private_networks=True)

        def send(item: tuple[str, str]) -> None:
            event_id, body = item
            attempt = sender.send(url, event_id, body, [secret], datetime.now(UTC))
            if not attempt.succeeded:
                raise RuntimeError(f"the sender failed: {attempt.error}")

        try:
            concurrently(bodies, concurrency, send)
        finally:
            sender.close()

    return job


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
