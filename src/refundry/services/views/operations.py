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
from refundry.services.ports.operations import QueueFigures
from refundry.services.ports.outbox import Topic
from refundry.services.ports.payment_providers import SETTLED_BY_REFUNDRY
from refundry.services.ports.read_model import ReadModelFactory

# The provider of a refund no payment provider moves: store credit, the float, points,
# money returned by other means.
NO_PROVIDER = "none"


@dataclass(frozen=True, slots=True)
class OperationsState:
    refunds: Mapping[tuple[str, str], int]  # (status, provider) -> refunds
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
    """``providers`` names the provider each payment method's refunds go to."""
    with read_models() as read:
        refund_counts = read.operations.refund_counts()
        outbox = read.operations.outbox_by_topic(now)
        webhooks = read.operations.webhook_deliveries(now)
    refunds: Counter[tuple[str, str]] = Counter()
    for row in refund_counts:
        refunds[row.status, _provider(row.method, row.payment_method, providers)] += row.count
    every_topic = {topic.value: outbox.get(topic.value, QueueFigures()) for topic in Topic}
    return OperationsState(dict(refunds), {**outbox, **every_topic}, webhooks, now)


def _provider(method: str, payment_method: str, providers: Mapping[str, str]) -> str:
    if method != RefundMethod.ORIGINAL or payment_method in SETTLED_BY_REFUNDRY:
        return NO_PROVIDER
    # A method with no provider configured (cards without a Stripe key) is named itself.
    return providers.get(payment_method, payment_method)
