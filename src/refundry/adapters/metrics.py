"""Per-process metrics: Prometheus counters and histograms, and how a scrape reads them.

Each process counts what it did itself: an API worker its requests, the worker its
rounds and messages, any process its provider calls. With ``PROMETHEUS_MULTIPROC_DIR``
set to a directory shared by the processes (and empty when they start), each writes its
figures to files there and a scrape adds up every process's files, so a scrape of any
one API worker shows them all. prometheus_client reads the variable when it is first
imported: it must be in the environment before the process starts.

Figures that describe stored state (refunds by status, the outbox backlog, webhook
deliveries waiting) are not kept here: a scrape reads them from the database
(``services/views/operations.py``), right whatever the number of processes.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from refundry.domain.errors import ProviderRejected, ProviderUnavailable

if TYPE_CHECKING:  # a process that only counts need not load the order model
    from refundry.domain.reconciliation import ReconciliationOutcome

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Read with prometheus_client's own import, just above: the mode its values were made in.
MULTIPROCESS_DIR = os.environ.get(MULTIPROCESS_DIR_ENV) or None
if MULTIPROCESS_DIR is not None:
    # The first counter below opens its file there: a missing directory would stop the
    # process at start with a bare FileNotFoundError.
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

# A ``_created`` series beside every counter doubles what Prometheus stores for nothing
# it uses (it reads resets from the counter itself).
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUEST_SECONDS = Histogram(
    "refundry_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PROVIDER_CALL_SECONDS = Histogram(
    "refundry_provider_call_duration_seconds",
    "Payment provider calls by provider, operation and outcome (ok, rejected, unavailable, error)",
    ["provider", "operation", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
WORKER_ROUNDS = Counter("refundry_worker_rounds", "Rounds the worker ran (each runs the due jobs)")
WORKER_JOB_SECONDS = Histogram(
    "refundry_worker_job_duration_seconds",
    "Worker jobs run, by job and outcome (ok, failed: it raised and is retried next round)",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
WORKER_MESSAGES = Counter(
    "refundry_worker_messages",
    "Messages the worker handled, by queue (outbox, webhooks) and outcome (ok, failed)",
    ["queue", "outcome"],
)
RECONCILIATION_RUNS = Counter(
    "refundry_reconciliation_runs",
    "Reconciliation runs, by trigger (worker, api, cli) and outcome (ok, failed)",
    ["trigger", "outcome"],
)
RECONCILIATION_AUTO_REFUNDS = Counter(
    "refundry_reconciliation_orders_auto_refunded",
    "Redeem orders reconciliation reversed because their transaction record was missing",
)
RECONCILIATION_DISCREPANCIES = Counter(
    "refundry_reconciliation_discrepancies_found", "New discrepancies reconciliation reported"
)


def per_process_metrics() -> Collector:
    """What a scrape shows of the counters above: every process's, added up, in
    multiprocess mode; this process's otherwise (with its CPU, memory and GC figures)."""
    if MULTIPROCESS_DIR is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return registry


@contextmanager
def shared_by(processes: int) -> Iterator[None]:
    """Several server processes need one directory for their metrics: unless
    ``PROMETHEUS_MULTIPROC_DIR`` names one, one is made for this run and removed after
    (so no process of an earlier run is counted). Processes started inside the block
    inherit it; this one's mode was set when it imported the metrics, before."""
    if processes <= 1 or os.environ.get(MULTIPROCESS_DIR_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="refundry-metrics-") as directory:
        os.environ[MULTIPROCESS_DIR_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR_ENV]


@contextmanager
def provider_call(provider: str, operation: str) -> Iterator[None]:
    """Time one provider call and count it by how it ended."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except ProviderRejected:
        outcome = "rejected"
        raise
    except ProviderUnavailable:
        outcome = "unavailable"
        raise
    finally:
        PROVIDER_CALL_SECONDS.labels(provider, operation, outcome).observe(
            time.perf_counter() - started
        )


def count_outbox_answers(answers: Sequence[object]) -> None:
    """A batch of provider work, recorded: a message whose call raised (the provider was
    unavailable or refused) failed; the others went as planned."""
    failed = sum(isinstance(answer, Exception) for answer in answers)
    if failed:
        WORKER_MESSAGES.labels("outbox", "failed").inc(failed)
    if len(answers) > failed:
        WORKER_MESSAGES.labels("outbox", "ok").inc(len(answers) - failed)


def count_webhook_attempt(succeeded: bool) -> None:
    WORKER_MESSAGES.labels("webhooks", "ok" if succeeded else "failed").inc()


def reconciliation_run(
    trigger: str, run: Callable[[], ReconciliationOutcome]
) -> ReconciliationOutcome:
    """Run a reconciliation and count it, what it reversed and what it found."""
    try:
        outcome = run()
    except Exception:
        RECONCILIATION_RUNS.labels(trigger, "failed").inc()
        raise
    RECONCILIATION_RUNS.labels(trigger, "ok").inc()
    RECONCILIATION_AUTO_REFUNDS.inc(len(outcome.orders_auto_refunded))
    RECONCILIATION_DISCREPANCIES.inc(outcome.discrepancies_found)
    return outcome


@contextmanager
def worker_job(job: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        WORKER_JOB_SECONDS.labels(job, outcome).observe(time.perf_counter() - started)
