"""The background worker: runs the scheduled jobs in rounds until told to stop.

Jobs are idempotent and take their own locks, so any number of workers may run
against one PostgreSQL; on SQLite, run one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from refundry.bootstrap import Container
from refundry.services import merchant_float, transactions

logger = logging.getLogger("refundry.worker")

Job = Callable[[Container], None]


def close_invoice_cycles(container: Container) -> None:
    for merchant_id, invoice in merchant_float.close_all_due_cycles(
        container.uow_factory, transactions.utcnow()
    ):
        logger.info(
            "closed invoice cycle %s..%s of merchant %s: credits %s, closing %s",
            invoice.period_start.date(),
            invoice.period_end.date(),
            merchant_id,
            invoice.credits,
            invoice.closing_balance,
        )


JOBS: tuple[Job, ...] = (close_invoice_cycles,)


class Worker:
    def __init__(self, container: Container, jobs: tuple[Job, ...] = JOBS) -> None:
        self.container = container
        self.jobs = jobs
        self.stopping = threading.Event()

    def run_round(self) -> None:
        for job in self.jobs:
            try:
                job(self.container)
            except Exception:
                # One failing job must not stop the others; it is retried next round.
                logger.exception("job %s failed", job.__name__)

    def run(self, *, once: bool = False, interval: float = 60.0) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while not self.stopping.is_set():
            self.run_round()
            if once:
                return
            self.stopping.wait(interval)

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()
