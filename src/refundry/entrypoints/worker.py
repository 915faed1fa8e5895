"""The background worker: provider work from the outbox, webhook deliveries, and
scheduled jobs.

Every job is idempotent and takes its own locks, and outbox messages are leased, so
any number of workers may run against one PostgreSQL; on SQLite, run one.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType

from refundry.adapters.db.outages import cause_in_one_line
from refundry.adapters.metrics import WORKER_ROUNDS, reconciliation_run, worker_job
from refundry.bootstrap import Container
from refundry.config import Settings
from refundry.domain.errors import DatabaseUnavailable
from refundry.entrypoints.worker_metrics import worker_metrics_server
from refundry.services import clock
from refundry.services.handlers import (
    authorization_watch,
    merchant_float,
    provider_work,
    reconciliation,
    store_credit_expiry,
    webhook_delivery,
)

logger = logging.getLogger("refundry.worker")


# One round of provider work takes no new batch after this long, so a returns wave's
# refunds (one gateway call at a time) cannot hold back webhooks: with a count of batches
# instead, a 10-minute soak's worker sent provider work for minutes between webhook rounds.
PROVIDER_ROUND_SECONDS = 5.0


def send_provider_work(container: Container) -> bool:
    """Drain what is due now, for a round at most (one batch at least); ``True`` when the
    round ended with more waiting (its last batch was full)."""
    return provider_work.process_continuously(container.provider_work, PROVIDER_ROUND_SECONDS)


# One round of webhook sending leases no new batch after this long, so receivers that hang
# cannot hold back provider refunds for long: a batch starts its requests only in the first
# half of what its lease leaves beyond the request timeout (one timeout, with the lease of
# three that bootstrap gives), and each ends by the timeout.
WEBHOOK_ROUND_SECONDS = 5.0


def deliver_webhooks(container: Container) -> bool:
    """``True`` when a full batch went out: more may be waiting."""
    work = container.webhook_work
    return webhook_delivery.deliver_continuously(work, WEBHOOK_ROUND_SECONDS) >= work.batch_size


def close_invoice_cycles(container: Container) -> None:
    for merchant_id, invoice in merchant_float.close_all_due_cycles(
        container.uow_factory, clock.utcnow()
    ):
        logger.info(
            "closed invoice cycle %s..%s of merchant %s: credits %s, closing %s",
            invoice.period_start.date(),
            invoice.period_end.date(),
            merchant_id,
            invoice.credits,
            invoice.closing_balance,
            extra={"merchant_id": str(merchant_id)},
        )


def watch_authorizations(container: Container) -> None:
    horizon = timedelta(hours=container.settings.authorization_watch_horizon_hours)
    for watched in authorization_watch.watch_authorizations(
        container.uow_factory, clock.utcnow(), horizon
    ):
        logger.info(
            "authorization of order %s (merchant %s) about to lapse: %s",
            watched.order_id,
            watched.merchant_id,
            watched.action,
            extra={"merchant_id": str(watched.merchant_id), "order_id": str(watched.order_id)},
        )


def reconcile(container: Container) -> None:
    """Reverse redeem orders whose transaction record is missing; report the rest."""
    settings = container.settings
    outcome = reconciliation_run(
        "worker",
        lambda: reconciliation.reconcile(
            container.uow_factory, None, grace=timedelta(hours=settings.reconcile_grace_hours)
        ),
    )
    for order_id in outcome.orders_auto_refunded:
        logger.warning(
            "order %s auto_refunded: its transaction record is missing",
            order_id,
            extra={"order_id": str(order_id)},
        )
    if outcome.discrepancies_found:
        logger.warning("reconciliation found %d new discrepancies", outcome.discrepancies_found)


def expire_store_credit(container: Container) -> None:
    """Write the ``expired`` entries of store credit whose validity ended."""
    expired = store_credit_expiry.expire_due(container.uow_factory)
    if expired:
        logger.info("store credit expired in %d accounts", expired)


@dataclass(frozen=True, slots=True)
class Job:
    # Returns ``True`` when it stopped with work left (the worker then rests no interval).
    run: Callable[[Container], bool | None]
    # At most this often (0: every round), or as the deployment's settings say.
    every_seconds: float | Callable[[Settings], float]

    def interval(self, settings: Settings) -> float:
        every = self.every_seconds
        return every(settings) if callable(every) else every

    @property
    def name(self) -> str:
        return self.run.__name__


JOBS: tuple[Job, ...] = (
    Job(send_provider_work, every_seconds=0),
    Job(deliver_webhooks, every_seconds=0),
    Job(close_invoice_cycles, every_seconds=60),
    Job(watch_authorizations, every_seconds=300),
    Job(expire_store_credit, every_seconds=300),
    Job(reconcile, every_seconds=lambda settings: settings.reconcile_every_seconds),
)


class Worker:
    def __init__(self, container: Container, jobs: tuple[Job, ...] = JOBS) -> None:
        self.container = container
        self.jobs = jobs
        self.stopping = threading.Event()
        self._last_run: dict[str, float] = {}

    def run_round(self, *, force: bool = False) -> bool:
        """Run the jobs that are due; ``True`` when one stopped with work left."""
        now = time.monotonic()
        busy = False
        WORKER_ROUNDS.inc()
        for job in self.jobs:
            last = self._last_run.get(job.name)
            every = job.interval(self.container.settings)
            if not force and last is not None and now - last < every:
                continue
            self._last_run[job.name] = now
            try:
                with worker_job(job.name):
                    busy = bool(job.run(self.container)) or busy
            except DatabaseUnavailable as error:
                # An outage is not a bug: one line a job and round, no traceback.
                logger.warning(
                    "job %s: database unavailable, tried again next round (%s)",
                    job.name,
                    cause_in_one_line(error),
                )
            except Exception:
                # One failing job must not stop the others; it is retried next round.
                logger.exception("job %s failed", job.name)
        return busy

    def run(self, *, once: bool = False, interval: float = 1.0) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        logger.info("worker running: %s", ", ".join(job.name for job in self.jobs))
        # A single round is over before anything could scrape it.
        with nullcontext() if once else worker_metrics_server(self.container.settings):
            while not self.stopping.is_set():
                busy = self.run_round(force=once)
                if once:
                    return
                if not busy:  # a backlog is worked through without a rest between rounds
                    self.stopping.wait(interval)

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()
