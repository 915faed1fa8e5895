"""The worker's side of webhooks: lease a due delivery, send it, record what happened.

Like provider work, no lock is held across the network: the lease is taken in one
transaction, the request is sent, and the outcome is recorded in another, together with
the attempt's log entry. A worker killed mid-request leaves a lease that runs out; the
next attempt sends the same event (same ``webhook-id``) again. At-least-once, by design.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from refundry.domain.webhooks import (
    DeliveryAttempt,
    DeliveryPolicy,
    DeliveryState,
    DueDelivery,
    EndpointStatus,
)
from refundry.services.transactions import run, utcnow
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.worker")


class WebhookSender(Protocol):
    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt: ...


@dataclass(frozen=True, slots=True)
class WebhookWork:
    uow_factory: UnitOfWorkFactory
    sender: WebhookSender
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    lease: timedelta = timedelta(seconds=60)  # longer than the request timeout
    batch_size: int = 50
    jitter: Callable[[], float] = field(default=random.random)


def deliver_due_webhooks(work: WebhookWork, limit: int | None = None) -> int:
    """Send up to ``limit`` (a batch) due deliveries, one at a time; returns how many."""
    handled = 0
    for _ in range(work.batch_size if limit is None else limit):
        due = _lease_one(work)
        if due is None:
            break
        try:
            deliver(work, due)
        except Exception as error:
            # A bug or an odd endpoint must not stall the queue; this delivery backs off
            # like a failed attempt and says why.
            logger.exception("webhook delivery %s failed unexpectedly", due.delivery.id)
            _back_off(work, due, f"{type(error).__name__}: {error}"[:500])
        handled += 1
    return handled


def _back_off(work: WebhookWork, due: DueDelivery, error: str) -> None:
    run(work.uow_factory, lambda uow: _schedule_retry(uow, work, due, utcnow(), error))


def _lease_one(work: WebhookWork) -> DueDelivery | None:
    now = utcnow()
    leased = run(
        work.uow_factory,
        lambda uow: uow.webhook_events.lease_due(now, limit=1, lease_until=now + work.lease),
    )
    return leased[0] if leased else None


def deliver(work: WebhookWork, due: DueDelivery) -> None:
    endpoint = due.endpoint
    if endpoint.status is not EndpointStatus.ENABLED:
        reason = endpoint.disabled_reason or "the endpoint is disabled"
        run(
            work.uow_factory,
            lambda uow: uow.webhook_events.finish(due, DeliveryState.FAILED, utcnow(), reason),
        )
        return
    now = utcnow()
    attempt = work.sender.send(
        endpoint.url, str(due.event.id), due.event.body, endpoint.signing_secrets(now), now
    )
    run(work.uow_factory, lambda uow: _record(uow, work, due, attempt))


def _record(uow: UnitOfWork, work: WebhookWork, due: DueDelivery, attempt: DeliveryAttempt) -> None:
    now = utcnow()
    uow.webhook_events.record_attempt(due, attempt)
    if attempt.succeeded:
        uow.webhook_events.finish(due, DeliveryState.DELIVERED, now, None)
        uow.webhook_endpoints.record_success(due.endpoint.id)
        return
    error = attempt.error or "failed"
    failing_since = uow.webhook_endpoints.record_failure(due.endpoint.id, now)
    if work.policy.should_disable(failing_since, now):
        reason = f"disabled after failing every delivery since {failing_since.isoformat()}: {error}"
        logger.warning("webhook endpoint %s %s", due.endpoint.id, reason)
        uow.webhook_endpoints.disable(due.endpoint.id, reason, now)
        uow.webhook_events.finish(due, DeliveryState.FAILED, now, error)
        uow.webhook_events.fail_pending(due.endpoint.id, reason, now)
        return
    _schedule_retry(uow, work, due, now, error)


def _schedule_retry(
    uow: UnitOfWork, work: WebhookWork, due: DueDelivery, now: datetime, error: str
) -> None:
    retry_at = work.policy.next_attempt(
        due.delivery.attempts, due.delivery.scheduled_at, now, work.jitter()
    )
    if retry_at is None:
        uow.webhook_events.finish(due, DeliveryState.FAILED, now, f"gave up: {error}")
    else:
        uow.webhook_events.retry(due, retry_at, error)
