"""The port a metrics scrape reads stored state through: aggregates over every merchant,
counts and oldest times only (no merchant, order or refund appears in them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RefundCount:
    status: str
    method: str  # the refund's method: original, store_credit, float, other
    payment_method: str  # how its order was paid: card, klarna, points...
    count: int


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One work queue (an outbox topic, or webhook deliveries) as it stands."""

    pending: int = 0  # not finished, due now or later
    due: int = 0  # of ``pending``, those whose time has come (leased ones included)
    failed: int = 0  # given up for good: each needs a person
    oldest_due_at: datetime | None = None  # when the longest-waiting due one fell due


class OperationsReads(Protocol):
    def refund_counts(self, *, in_flight_only: bool) -> list[RefundCount]:
        """Every refund, or only those still waiting (started, processing): the first reads
        every refund, the second an index of the few."""

    def outbox_by_topic(self, now: datetime) -> dict[str, QueueFigures]:
        """Topics with pending or failed messages only."""

    def webhook_deliveries(self, now: datetime) -> QueueFigures: ...
