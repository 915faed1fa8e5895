"""``GET /metrics``: the per-process counters (every process's, in multiprocess mode)
and the stored state, read from the database at scrape time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from refundry.adapters.metrics import per_process_metrics
from refundry.bootstrap import Container
from refundry.services.clock import utcnow
from refundry.services.ports.operations import QueueFigures
from refundry.services.views.operations import (
    OperationsState,
    RefundsByStatus,
    operations_state,
    refunds_by_status,
)
from refundry.services.views.replication import replica_lag_seconds

# The classic text format (what generate_latest writes): every Prometheus server reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

logger = logging.getLogger("refundry.metrics")


# Counting every refund reads the whole refunds table (about a second on PostgreSQL at a
# million orders): a process does it at most this often, and each scrape in between shows
# the last count. The refunds in flight, what alerts watch, are read at every scrape.
REFUND_TOTALS_SECONDS = 300.0


def metrics_text(stored_state: StoredStateCollector) -> bytes:
    return generate_latest(per_process_metrics()) + generate_latest(stored_state)


class StoredStateCollector:
    """Refunds, the outbox and webhook deliveries as stored: the same figures from any
    process, so in PromQL take ``max`` across instances, never ``sum``. One per
    application: it keeps the refund totals between their reads."""

    def __init__(self, container: Container, clock: Callable[[], float] = time.monotonic) -> None:
        self._read_models = container.read_models
        # The replica's, when REFUNDRY_READ_DATABASE_URL names one (else the primary's).
        self._lagging_reads = (
            container.lagging_reads if container.read_engine is not container.engine else None
        )
        self._providers = container.provider_work.providers.names()
        self._clock = clock
        self._totals: tuple[float, RefundsByStatus] | None = None
        self._totals_lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            state = operations_state(self._read_models, utcnow(), self._providers)
            totals = self._refund_totals()
        except Exception:
            # The process's own counters are still worth a scrape; this says what is missing.
            logger.exception("metrics: the stored state could not be read")
            yield _gauge("refundry_stored_state_up", "1 when the stored state was read", 0)
            return
        yield _gauge("refundry_stored_state_up", "1 when the stored state was read", 1)
        yield _gauge(
            "refundry_stored_state_read_seconds",
            "How long reading the stored state took",
            time.perf_counter() - started,
        )
        yield _refunds(
            "refundry_refunds_in_flight",
            "Refunds waiting for their provider (started, processing), by provider",
            state.refunds_in_flight,
        )
        yield _refunds(
            "refundry_refunds",
            "Refunds stored, by status and the provider that moves their money (none: store "
            f"credit, the float, points or other means); read at most every "
            f"{REFUND_TOTALS_SECONDS:g} s",
            totals,
        )
        yield from _queue_families("outbox", "messages", ["topic"], state, state.outbox)
        webhooks = {"": state.webhook_deliveries}
        yield from _queue_families("webhook", "deliveries", [], state, webhooks)
        yield from self._replica_lag()

    def _replica_lag(self) -> Iterator[Metric]:
        """How far behind the replica serving reports, exports and lists is; absent when
        there is no replica. One that cannot be read says so, apart from the primary."""
        if self._lagging_reads is None:
            return
        try:
            lag = replica_lag_seconds(self._lagging_reads)
        except Exception:
            logger.exception("metrics: the replica's lag could not be read")
            yield _gauge("refundry_replica_up", "1 when the read replica answered", 0)
            return
        yield _gauge("refundry_replica_up", "1 when the read replica answered", 1)
        if lag is not None:
            yield _gauge(
                "refundry_replica_lag_seconds",
                "Seconds the read replica (REFUNDRY_READ_DATABASE_URL) is behind the primary",
                lag,
            )

    def _refund_totals(self) -> RefundsByStatus:
        with self._totals_lock:  # two scrapes at once read them once
            now = self._clock()
            if self._totals is None or now - self._totals[0] >= REFUND_TOTALS_SECONDS:
                self._totals = (now, refunds_by_status(self._read_models, self._providers))
            return self._totals[1]


def _refunds(name: str, documentation: str, counts: RefundsByStatus) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status", "provider"])
    for (status, provider), count in sorted(counts.items()):
        family.add_metric([status, provider], count)
    return family


def _queue_families(
    queue: str,
    items: str,
    labels: list[str],
    state: OperationsState,
    figures: Mapping[str, QueueFigures],
) -> Iterator[Metric]:
    families = {
        "pending": GaugeMetricFamily(
            f"refundry_{queue}_{items}_pending",
            f"The {queue}'s backlog: {items} not finished, due now or later",
            labels=labels,
        ),
        "due": GaugeMetricFamily(
            f"refundry_{queue}_{items}_due",
            f"Pending {items} whose time has come (those a worker holds too)",
            labels=labels,
        ),
        "failed": GaugeMetricFamily(
            f"refundry_{queue}_{items}_failed",
            f"{items.capitalize()} given up for good",
            labels=labels,
        ),
    }
    oldest = GaugeMetricFamily(
        f"refundry_{queue}_oldest_due_age_seconds",
        f"How long the longest-waiting due one of the {queue}'s {items} has been due "
        "(0: none is due)",
        labels=labels,
    )
    for name, queue_figures in sorted(figures.items()):
        values = [name] if labels else []
        families["pending"].add_metric(values, queue_figures.pending)
        families["due"].add_metric(values, queue_figures.due)
        families["failed"].add_metric(values, queue_figures.failed)
        oldest.add_metric(values, state.waited_seconds(queue_figures))
    yield from families.values()
    yield oldest


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
