"""The fake ``uow.outbox``: the provider work the worker sends after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from refundry.services.ports.outbox import MessageState, OutboxMessage, Topic
from tests.unit.fakes.store import InMemoryStore, QueuedMessage


class FakeOutboxRepository:
    """The worker's queue: due pending messages are leased, and outcomes count only
    while the lease they were taken under still holds the message."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def add(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        self._store.outbox.extend(
            QueuedMessage(replace(message, attempts=0), MessageState.PENDING, now)
            for message in messages
        )

    def lease_due(self, now: datetime, *, limit: int, lease_until: datetime) -> list[OutboxMessage]:
        due = sorted(
            (
                queued
                for queued in self._store.outbox
                if queued.state is MessageState.PENDING
                and queued.run_after <= now
                and (queued.leased_until is None or queued.leased_until <= now)
            ),
            # work on refunds already sent, and providers' events, before new sends
            key=lambda queued: (
                not (queued.attempts > 0 or queued.message.topic is Topic.PROVIDER_REFUND_EVENT),
                queued.run_after,
            ),
        )[:limit]
        for queued in due:
            queued.attempts += 1
            queued.leased_until = lease_until
        return [
            replace(queued.message, attempts=queued.attempts, leased_until=lease_until)
            for queued in due
        ]

    def finish(self, message: OutboxMessage, now: datetime) -> None:
        self._if_leased(message, state=MessageState.DONE, finished_at=now, leased_until=None)

    def fail(self, message: OutboxMessage, error: str, now: datetime) -> None:
        self._if_leased(
            message,
            state=MessageState.FAILED,
            finished_at=now,
            leased_until=None,
            last_error=error,
        )

    def retry(self, message: OutboxMessage, run_after: datetime, error: str | None) -> None:
        self._if_leased(message, run_after=run_after, leased_until=None, last_error=error)

    def _if_leased(self, message: OutboxMessage, **changes: Any) -> None:
        for queued in self._store.outbox:
            if (
                queued.message.id == message.id
                and queued.state is MessageState.PENDING
                and queued.leased_until == message.leased_until
            ):
                for name, value in changes.items():
                    setattr(queued, name, value)
