"""The worker's side of webhooks: lease a batch of due deliveries, send them, record what
happened.

No lock is held across the network. A batch (``batch_size``) is leased in one transaction,
its requests go out ``concurrency`` at a time, and their outcomes are recorded together in
one more transaction, one attempt row per request made. A worker killed mid-batch leaves
leases that run out; the next worker sends those events (same ``webhook-id``) again.
At-least-once, by design.

Within a batch, one order's events to one endpoint go out one after another, in sequence
order, as a lone worker would send them; nothing else waits. A request starts only while
its lease has room for it to time out and still be recorded: in the first half of what the
lease leaves beyond the request timeout. What could not start by then is handed back
unsent, due again at once, so a batch never outlives its lease because a receiver hangs.
Every change to a delivery is made only under the lease it was leased with: if the lease
ran out and another worker took the delivery, this one's attempt row is still kept (the
receiver did get the request) but the delivery is the other worker's to finish.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from refundry.domain.errors import DatabaseUnavailable
from refundry.domain.webhooks import (
    DeliveryAttempt,
    DeliveryPolicy,
    DeliveryState,
    DueDelivery,
    EndpointStatus,
)
from refundry.services.clock import utcnow
from refundry.services.transactions import run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.worker")


class WebhookSender(Protocol):
    """Sends one request; called from several threads at once (``concurrency``)."""

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt: ...


@dataclass(frozen=True, slots=True)
class WebhookWork:
    uow_factory: UnitOfWorkFactory
    sender: WebhookSender
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    lease: timedelta = timedelta(seconds=60)  # longer than the request timeout
    batch_size: int = 100  # deliveries leased, and recorded, per transaction
    jitter: Callable[[], float] = field(default=random.random)
    concurrency: int = 10  # requests in flight at once, per worker
    clock: Callable[[], datetime] = field(default=utcnow)

    def __post_init__(self) -> None:
        if self.lease <= self.policy.timeout:
            raise ValueError("a delivery's lease must outlast the request timeout")
        if self.batch_size < 1 or self.concurrency < 1:
            raise ValueError("batch_size and concurrency must be at least 1")


class Fate(StrEnum):
    SENT = "sent"  # a request was made; its attempt says how it went
    NOT_SENT = "not_sent"  # too late in the lease to start: handed back, due at once
    REFUSED = "refused"  # the endpoint is disabled: the delivery fails unsent
    BROKEN = "broken"  # sending raised (a bug): backs off like a failed attempt


@dataclass(frozen=True, slots=True)
class Outcome:
    due: DueDelivery
    fate: Fate
    attempt: DeliveryAttempt | None = None  # exactly when SENT
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    dues: list[DueDelivery]
    start_by: datetime  # no request of the batch starts later


def deliver_due_webhooks(work: WebhookWork, limit: int | None = None) -> int:
    """Lease up to ``limit`` (a batch) due deliveries, send them and record what came of
    each; returns how many were leased."""
    batch = lease(work, work.batch_size if limit is None else limit)
    if batch is None:
        return 0
    record(work, send_all(work, batch))
    return len(batch.dues)


def deliver_continuously(work: WebhookWork, seconds: float) -> int:
    """Batch after batch for about ``seconds``, or until a batch comes back short (nothing
    else is due); returns how many deliveries were leased. While one batch's requests are
    in flight, the previous batch's outcomes are recorded and the next batch is leased, so
    the database's time is not added to the sending's. The next batch is sent only once
    this one is done: one order's events to one endpoint still go out in turn."""
    started = time.monotonic()
    batch = lease(work, work.batch_size)
    handled = 0
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(1, thread_name_prefix="webhook-batch") as background:
        while batch is not None:
            sending = background.submit(send_all, work, batch)
            try:
                record(work, outcomes)
                full = len(batch.dues) == work.batch_size
                more = full and time.monotonic() - started < seconds
                upcoming = lease(work, work.batch_size) if more else None
            except BaseException:
                record(work, sending.result())
                raise
            outcomes = sending.result()
            handled += len(batch.dues)
            batch = upcoming
        record(work, outcomes)
    return handled


def lease(work: WebhookWork, limit: int) -> Batch | None:
    now = work.clock()
    leased = run(
        work.uow_factory,
        lambda uow: uow.webhook_events.lease_due(now, limit=limit, lease_until=now + work.lease),
    )
    if not leased:
        return None
    return Batch(leased, start_by=now + (work.lease - work.policy.timeout) / 2)


def send_all(work: WebhookWork, batch: Batch) -> list[Outcome]:
    """Each leased delivery's outcome; one order's events to one endpoint in turn."""
    start_by = batch.start_by
    lines: dict[tuple[uuid.UUID, uuid.UUID], list[DueDelivery]] = {}
    for due in batch.dues:
        lines.setdefault((due.endpoint.id, due.event.order_id), []).append(due)
    queues = [sorted(line, key=lambda due: due.event.sequence) for line in lines.values()]

    def in_turn(queue: list[DueDelivery]) -> list[Outcome]:
        return [_send(work, due, start_by) for due in queue]

    threads = min(work.concurrency, len(queues))
    if threads == 1:
        return [outcome for queue in queues for outcome in in_turn(queue)]
    with ThreadPoolExecutor(threads, thread_name_prefix="webhook-send") as pool:
        return [outcome for outcomes in pool.map(in_turn, queues) for outcome in outcomes]


def _send(work: WebhookWork, due: DueDelivery, start_by: datetime) -> Outcome:
    endpoint = due.endpoint
    if endpoint.status is not EndpointStatus.ENABLED:
        return Outcome(due, Fate.REFUSED, error=endpoint.disabled_reason or "disabled")
    now = work.clock()
    if now > start_by:
        return Outcome(due, Fate.NOT_SENT)
    try:
        attempt = work.sender.send(
            endpoint.url, str(due.event.id), due.event.body, endpoint.signing_secrets(now), now
        )
    except Exception as error:
        # A bug or an odd endpoint must not stall the queue; this delivery backs off
        # like a failed attempt and says why.
        logger.exception("webhook delivery %s failed unexpectedly", due.delivery.id)
        return Outcome(due, Fate.BROKEN, error=f"{type(error).__name__}: {error}"[:500])
    return Outcome(due, Fate.SENT, attempt)


def record(work: WebhookWork, outcomes: Sequence[Outcome]) -> None:
    """All outcomes in one transaction; should that fail, each in a transaction of its
    own, so that one odd outcome cannot lose the others'."""
    if not outcomes:
        return
    try:
        _record_in_one_transaction(work, outcomes)
        return
    except DatabaseUnavailable:
        # Not about these outcomes (one by one, each would meet the same outage): the job
        # ends with one line in the log, the leases run out and the events are sent
        # again, which at-least-once delivery allows.
        raise
    except Exception:
        logger.exception("recording %d webhook outcomes at once failed", len(outcomes))
    for outcome in outcomes:
        try:
            _record_in_one_transaction(work, [outcome])
        except Exception as error:
            logger.exception("webhook delivery %s: outcome not recorded", outcome.due.delivery.id)
            _back_off(work, outcome.due, f"{type(error).__name__}: {error}"[:500])


def _back_off(work: WebhookWork, due: DueDelivery, error: str) -> None:
    """The last resort: the delivery waits like a failed attempt rather than being sent
    again each time its lease runs out."""
    broken = Outcome(due, Fate.BROKEN, error=f"not recorded: {error}")
    try:
        _record_in_one_transaction(work, [broken])
    except Exception:
        # Its lease runs out and the event is sent again: at-least-once still holds.
        logger.exception("webhook delivery %s: could not back off", due.delivery.id)


def _record_in_one_transaction(work: WebhookWork, outcomes: Sequence[Outcome]) -> None:
    run(work.uow_factory, lambda uow: record_outcomes(uow, work, outcomes, work.clock()))


def record_outcomes(
    uow: UnitOfWork, work: WebhookWork, outcomes: Sequence[Outcome], now: datetime
) -> None:
    """The attempt rows, the deliveries' new states and the endpoints' health, a handful
    of statements for the whole batch when every request succeeded."""
    events, endpoints = uow.webhook_events, uow.webhook_endpoints
    sent = [(o.due, o.attempt) for o in outcomes if o.attempt is not None]
    events.record_attempts(sent)
    events.release([o.due for o in outcomes if o.fate is Fate.NOT_SENT])
    finished = [(o.due, DeliveryState.FAILED, o.error) for o in outcomes if o.fate is Fate.REFUSED]
    finished += [(due, DeliveryState.DELIVERED, None) for due, attempt in sent if attempt.succeeded]
    # An endpoint that answered any request of the batch is not failing every delivery.
    answered = {due.endpoint.id for due, attempt in sent if attempt.succeeded}
    endpoints.record_successes(answered)
    failed: dict[uuid.UUID, list[tuple[DueDelivery, str]]] = {}
    for due, attempt in sorted(sent, key=lambda pair: pair[1].attempted_at):
        if not attempt.succeeded:
            failed.setdefault(due.endpoint.id, []).append((due, attempt.error or "failed"))
    backing_off = [(o.due, o.error or "failed") for o in outcomes if o.fate is Fate.BROKEN]
    disabled: list[tuple[uuid.UUID, str]] = []
    for endpoint_id in sorted(failed):  # one lock order for every worker
        failures = failed[endpoint_id]
        if endpoint_id in answered:
            backing_off += failures
            continue
        failing_since = endpoints.record_failure(endpoint_id, now)
        if not work.policy.should_disable(failing_since, now):
            backing_off += failures
            continue
        error = failures[-1][1]
        reason = f"disabled after failing every delivery since {failing_since.isoformat()}: {error}"
        logger.warning("webhook endpoint %s %s", endpoint_id, reason)
        endpoints.disable(endpoint_id, reason, now)
        finished += [(due, DeliveryState.FAILED, error) for due, error in failures]
        disabled.append((endpoint_id, reason))
    retries: list[tuple[DueDelivery, datetime, str | None]] = []
    for due, error in backing_off:
        retry_at = work.policy.next_attempt(
            due.delivery.attempts, due.delivery.scheduled_at, now, work.jitter()
        )
        if retry_at is None:
            finished.append((due, DeliveryState.FAILED, f"gave up: {error}"))
        else:
            retries.append((due, retry_at, error))
    events.finish(finished, now)
    events.retry(retries)
    for endpoint_id, reason in disabled:  # after this batch's own rows are closed
        events.fail_pending(endpoint_id, reason, now)
