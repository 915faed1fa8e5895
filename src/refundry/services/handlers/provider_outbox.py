"""Event handler: the provider work a change leaves behind, as outbox messages.

A refund to the original payment and a hold to release become rows in the same
transaction as the change; the worker (``provider_work``) sends them after the commit,
so a crash between the two loses nothing and a rollback sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from refundry.domain.events import AuthorizationVoidRequested, RefundRequested
from refundry.services.ports.outbox import OutboxMessage
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork


def enqueue_provider_work(
    uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime
) -> None:
    uow.outbox.add(
        [
            OutboxMessage.for_event(order.merchant_id, event, now)
            for order, event in recorded
            if isinstance(event, RefundRequested | AuthorizationVoidRequested)
        ],
        now,
    )
