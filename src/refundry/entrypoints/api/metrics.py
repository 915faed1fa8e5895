"""``GET /metrics``: the per-process counters (every process's, in multiprocess mode)
and the stored state, read from the database at scrape time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from refundry.adapters.metrics import per_process_metrics
from refundry.bootstrap import Container
from refundry.services.clock import utcnow
from refundry.services.ports.operations import QueueFigures
from refundry.services.views.operations import OperationsState, operations_state

# The classic text format (what generate_latest writes): every Prometheus server reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

logger = logging.getLogger("refundry.metrics")


def metrics_text(container: Container) -> bytes:
    stored = StoredStateCollector(container)
    return generate_latest(per_process_metrics()) + generate_latest(stored)


class StoredStateCollector:
    """Refunds, the outbox and webhook deliveries as stored: the same figures from any
    process, so in PromQL take ``max`` across instances, never ``sum``."""

    def __init__(self, container: Container) -> None:
        self._read_models = container.read_models
        self._providers = container.provider_work.providers.names()

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            state = operations_state(self._read_models, utcnow(), self._providers)
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
        refunds = GaugeMetricFamily(
            "refundry_refunds",
            "Refunds stored, by status and the provider that moves their money "
            "(none: store credit, the float, points or other means)",
            labels=["status", "provider"],
        )
        for (status, provider), count in sorted(state.refunds.items()):
            refunds.add_metric([status, provider], count)
        yield refunds
        yield from _queue_families("outbox", "messages", ["topic"], state, state.outbox)
        webhooks = {"": state.webhook_deliveries}
        yield from _queue_families("webhook", "deliveries", [], state, webhooks)


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
