"""Outbox messages: the work a committed change leaves for the worker.

Topics:

- ``provider.refund``: send a refund to the order's payment provider, then follow it
  until the provider settles it (``payload``: ``refund_id``).
- ``provider.void_authorization``: release a cancelled order's authorization.
- ``provider.refund_event``: apply what a provider's event says about a refund (ours, or
  one made in the provider's dashboard); ``payload`` is the event, normalised.

A message is ``pending`` until its handler says it is ``done`` (or ``failed`` for good).
The worker leases due messages, so two workers never act on one at the same time,
and a worker that dies mid-call leaves a lease that simply runs out. Messages tried
before (polls, retries) and providers' events are leased before new sends: they finish
refunds already on their way, which a backlog of new sends must not hold back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from refundry.domain.events import AuthorizationVoidRequested, ProviderWorkEvent, RefundRequested
from refundry.services.ports.tracing import TraceContext


class Topic(StrEnum):
    PROVIDER_REFUND = "provider.refund"
    PROVIDER_VOID_AUTHORIZATION = "provider.void_authorization"
    PROVIDER_REFUND_EVENT = "provider.refund_event"


class MessageState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: uuid.UUID
    merchant_id: uuid.UUID
    order_id: uuid.UUID | None
    topic: Topic
    payload: dict[str, Any]
    attempts: int  # leases taken so far, this one included
    created_at: datetime
    # This worker's lease: outcomes are recorded only while it still holds it, so a worker
    # whose lease ran out (and whose message another worker took) cannot overwrite.
    leased_until: datetime | None = None
    # The trace of the change that wrote it (stored by the outbox when it is added, read
    # back when leased): the worker's call for it continues that trace.
    trace_context: TraceContext | None = None

    @classmethod
    def for_event(
        cls, merchant_id: uuid.UUID, event: ProviderWorkEvent, now: datetime
    ) -> OutboxMessage:
        match event:
            case RefundRequested(order_id=order_id, refund_id=refund_id):
                topic, payload = Topic.PROVIDER_REFUND, {"refund_id": str(refund_id)}
            case AuthorizationVoidRequested(order_id=order_id):
                topic, payload = Topic.PROVIDER_VOID_AUTHORIZATION, {}
        return cls(uuid.uuid4(), merchant_id, order_id, topic, payload, 0, now)

    def log_fields(self) -> dict[str, str]:
        """What a log line about this message carries (``extra=``; JSON logs show it)."""
        fields = {"topic": str(self.topic), "outbox_message_id": str(self.id)}
        fields["merchant_id"] = str(self.merchant_id)
        if self.order_id is not None:
            fields["order_id"] = str(self.order_id)
        return fields


class OutboxRepository(Protocol):
    def add(self, messages: Sequence[OutboxMessage], now: datetime) -> None: ...
    def lease_due(
        self, now: datetime, *, limit: int, lease_until: datetime
    ) -> list[OutboxMessage]: ...
    def finish(self, message: OutboxMessage, now: datetime) -> None: ...
    def fail(self, message: OutboxMessage, error: str, now: datetime) -> None: ...
    def retry(self, message: OutboxMessage, run_after: datetime, error: str | None) -> None: ...
