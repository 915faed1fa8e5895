"""What a metrics scrape shows of stored state: refunds by status and provider, the
outbox's backlog by topic, webhook deliveries waiting or given up. Aggregates over every
merchant, read in one read transaction, so any process (and any number of them) reads
the same figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.refund import RefundMethod
from refundry.services.ports.operations import QueueFigures, RefundCount
from refundry.services.ports.outbox import Topic
from refundry.services.ports.payment_providers import SETTLED_BY_REFUNDRY
from refundry.services.ports.read_model import ReadModelFactory

# The provider of a refund no payment provider moves: store credit, the float, points,
# money returned by other means.
NO_PROVIDER = "none"

RefundsByStatus = Mapping[tuple[str, str], int]  # (status, provider) -> refunds


@dataclass(frozen=True, slots=True)
class OperationsState:
    refunds_in_flight: RefundsByStatus  # started and processing ones
    outbox: Mapping[str, QueueFigures]  # every topic, empty ones too
    webhook_deliveries: QueueFigures
    read_at: datetime

    def waited_seconds(self, queue: QueueFigures) -> float:
        """How long the queue's longest-waiting due item has been due (0: none is)."""
        if queue.oldest_due_at is None:
            return 0.0
        return max((self.read_at - queue.oldest_due_at).total_seconds(), 0.0)


def operations_state(
    read_models: ReadModelFactory, now: datetime, providers: Mapping[str, str]
) -> OperationsState:
    """What each scrape reads: a few index lookups. ``providers`` names the provider each
    payment method's refunds go to."""
    with read_models() as read:
        in_flight = read.operations.refund_counts(in_flight_only=True)
        outbox = read.operations.outbox_by_topic(now)
        webhooks = read.operations.webhook_deliveries(now)
    every_topic = {topic.value: outbox.get(topic.value, QueueFigures()) for topic in Topic}
    return OperationsState(
        _by_provider(in_flight, providers), {**outbox, **every_topic}, webhooks, now
    )


def refunds_by_status(
    read_models: ReadModelFactory, providers: Mapping[str, str]
) -> RefundsByStatus:
    """Every refund stored, by status and provider: a read of the whole refunds table."""
    with read_models() as read:
        return _by_provider(read.operations.refund_counts(in_flight_only=False), providers)


def _by_provider(rows: list[RefundCount], providers: Mapping[str, str]) -> RefundsByStatus:
    refunds: Counter[tuple[str, str]] = Counter()
    for row in rows:
        refunds[row.status, _provider(row.method, row.payment_method, providers)] += row.count
    return dict(refunds)


def _provider(method: str, payment_method: str, providers: Mapping[str, str]) -> str:
    if method != RefundMethod.ORIGINAL or payment_method in SETTLED_BY_REFUNDRY:
        return NO_PROVIDER
    # A method with no provider configured (cards without a Stripe key) is named itself.
    return providers.get(payment_method, payment_method)
