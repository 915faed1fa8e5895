"""The worker's side of the outbox: send refunds and voids to providers, follow them.

Due messages are handled a batch at a time, in four steps, none of which holds a lock
across the network: lease the batch (one statement), read its orders (one read
transaction), call the providers side by side (``provider_calls``; the refund id is the
provider's idempotency key), then record every outcome in one transaction, each under
its order's lock and rules, with its message's next state. A crash between any two steps
leaves leased messages whose leases run out; the next attempt calls the provider with the
same key and gets the same refund back, so a refund is paid once whatever happens.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from refundry.domain.errors import DatabaseUnavailable, ProviderRejected, ProviderUnavailable
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.payments import ProviderRefund, ProviderRefundState, RefundInstruction
from refundry.domain.retry import backoff_delay
from refundry.services.clock import utcnow
from refundry.services.handlers.provider_calls import ProviderCalls
from refundry.services.handlers.provider_events import event_from_payload
from refundry.services.handlers.refund_outcomes import apply_refund_event, apply_refund_outcome
from refundry.services.ports.outbox import OutboxMessage, Topic
from refundry.services.ports.payment_providers import ProviderRegistry
from refundry.services.ports.tracing import NO_TRACING, Tracing
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.worker")


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    lease: timedelta = timedelta(seconds=60)  # longer than a batch's provider calls
    batch_size: int = 32
    concurrency: int = 32  # provider calls in flight at once, per provider
    retry_base: timedelta = timedelta(seconds=2)  # after a provider was unavailable
    retry_ceiling: timedelta = timedelta(hours=1)
    poll_base: timedelta = timedelta(seconds=1)  # while a provider settles a refund
    poll_ceiling: timedelta = timedelta(minutes=10)
    # Where the providers send refund events, a refund settles from its event and a poll
    # is the fallback for an event that did not come: the first waits this long.
    events_expected: bool = False
    poll_fallback: timedelta = timedelta(seconds=30)
    jitter: Callable[[], float] = field(default=random.random)


@dataclass(frozen=True, slots=True)
class ProviderWork:
    uow_factory: UnitOfWorkFactory
    providers: ProviderRegistry
    policy: OutboxPolicy = OutboxPolicy()
    calls: ProviderCalls = field(default_factory=ProviderCalls)
    # Each call runs in a span continuing the trace of the change that wrote its message.
    tracing: Tracing = NO_TRACING
    # Told each batch's answers once their outcomes are recorded (the worker's metrics).
    recorded: Callable[[Sequence[object]], None] = lambda _answers: None


# What a provider call answered: a refund's state, ``None`` (a void went through, or no
# call was needed), or the exception it raised.
Answer = object
Record = Callable[[UnitOfWork, Order, Answer], None]


@dataclass(frozen=True, slots=True)
class Step:
    """One message's part of a batch: the provider call to make, if any, and how to
    record its answer on the locked order."""

    message: OutboxMessage
    record: Record
    call: Callable[[], Answer] | None = None
    provider: str = ""


def process_outbox(work: ProviderWork) -> int:
    """Handle a batch of due messages; returns how many were handled."""
    steps = _lease_and_plan(work)
    if steps:
        _record(work, _call_all(work, steps))
    return len(steps)


def process_continuously(work: ProviderWork, seconds: float) -> bool:
    """Batch after batch for about ``seconds``, or until a batch comes back short;
    ``True`` when it stopped with more waiting. A batch's outcomes are recorded while
    the next batch's calls are in flight, so the database's time is not added to the
    network's. Each batch is leased only once the one before has its answers, so a
    lease covers its own batch's calls alone."""
    started = time.monotonic()
    answered: list[tuple[Step, Answer]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="provider-batch") as background:
        while True:
            try:
                steps = _lease_and_plan(work)
            except BaseException:
                _record(work, answered)  # what the provider did is kept, if it can be
                raise
            full = len(steps) == work.policy.batch_size
            calling = background.submit(_call_all, work, steps)
            try:
                _record(work, answered)
            except BaseException:
                _record(work, calling.result())
                raise
            answered = calling.result()
            if not full or time.monotonic() - started >= seconds:
                break
        _record(work, answered)
    return full


def _lease_and_plan(work: ProviderWork) -> list[Step]:
    """Lease a batch (one statement) and read its orders (one read transaction)."""
    policy = work.policy
    now = utcnow()
    messages = run(
        work.uow_factory,
        lambda uow: uow.outbox.lease_due(
            now, limit=policy.batch_size, lease_until=now + policy.lease
        ),
    )
    if not messages:
        return []
    keys = [(message.merchant_id, message.order_id) for message in messages if message.order_id]
    orders = read(work.uow_factory, lambda uow: uow.orders.get_many(keys))
    return [
        _plan(work, message, orders.get(message.order_id) if message.order_id else None)
        for message in messages
    ]


def _call_all(work: ProviderWork, steps: Sequence[Step]) -> list[tuple[Step, Answer]]:
    """Each step with its call's answer (``None`` where it had no call)."""
    calling = [(step, step.call) for step in steps if step.call is not None]
    answers = work.calls.run(
        [(step.provider, partial(_traced, work.tracing, step, call)) for step, call in calling],
        limit=work.policy.concurrency,
    )
    by_message = {
        step.message.id: answer for (step, _), answer in zip(calling, answers, strict=True)
    }
    return [(step, by_message.get(step.message.id)) for step in steps]


def _traced(tracing: Tracing, step: Step, call: Callable[[], Answer]) -> Answer:
    """The call, in a span that continues its message's trace (on the call's own thread)."""
    message = step.message
    attributes = {
        "refundry.outbox.topic": message.topic.value,
        "refundry.outbox.message_id": str(message.id),
        "refundry.order_id": str(message.order_id),
        "refundry.provider": step.provider,
    }
    with tracing.continued(message.trace_context, f"{message.topic} call", attributes):
        return call()


def _plan(work: ProviderWork, message: OutboxMessage, order: Order | None) -> Step:
    try:
        if order is None:
            raise LookupError(f"order {message.order_id} of message {message.id} not found")
        return PLANNERS[message.topic](work, message, order)
    except ProviderUnavailable as error:
        return Step(message, partial(_retry_later, work, message, error))
    except Exception as error:
        # A bug or an unexpected state must not stall the other messages; this one
        # backs off like an unavailable provider and says why.
        logger.exception(
            "%s %s failed unexpectedly", message.topic, message.id, extra=message.log_fields()
        )
        unexpected = ProviderUnavailable(f"{type(error).__name__}: {error}")
        return Step(message, partial(_retry_later, work, message, unexpected))


def _record(work: ProviderWork, answered: Sequence[tuple[Step, Answer]]) -> None:
    if not answered:
        return
    try:
        run(work.uow_factory, lambda uow: _record_all(uow, answered))
    except DatabaseUnavailable:
        # Not about these outcomes: recording them one by one or backing one off would
        # meet the same outage. The job ends with one line in the log; the messages'
        # leases run out and their calls go again with the same idempotency keys, which
        # the provider answers with what it did the first time.
        raise
    except Exception:
        if len(answered) == 1:
            step, _ = answered[0]
            about = step.message
            logger.exception(
                "%s %s failed unexpectedly", about.topic, about.id, extra=about.log_fields()
            )
            _retry_alone(work, step.message)
            return
        # One outcome that cannot be recorded (a bug, a conflict) must not hold back the
        # rest of its batch: each is recorded on its own, and only it backs off.
        logger.warning("a batch of %d outcomes is recorded one by one", len(answered))
        for item in answered:
            _record(work, [item])
    else:
        work.recorded([answer for _, answer in answered])


def _record_all(uow: UnitOfWork, answered: Sequence[tuple[Step, Answer]]) -> None:
    keys = [(step.message.merchant_id, step.message.order_id) for step, _ in answered]
    orders = uow.orders.get_many([(merchant, order) for merchant, order in keys if order])
    for step, answer in answered:
        order = orders.get(step.message.order_id) if step.message.order_id else None
        if order is None:
            raise LookupError(f"order {step.message.order_id} not found")
        step.record(uow, order, answer)


def _retry_alone(work: ProviderWork, message: OutboxMessage) -> None:
    error = ProviderUnavailable("its outcome could not be recorded; see the worker's log")
    run(work.uow_factory, lambda uow: _retry_later(work, message, error, uow))


# ----------------------------------------------------------------- refunds
def _plan_refund(work: ProviderWork, message: OutboxMessage, order: Order) -> Step:
    refund_id = uuid.UUID(message.payload["refund_id"])
    refund = order.refund_by_id(refund_id)
    if not refund.is_pending:
        return Step(message, partial(_finish, message))  # settled meanwhile (by an event, say)
    record = partial(_record_refund, work, message, refund_id, refund.provider_reference)
    provider = work.providers.for_order(order)
    if provider is None or refund.money_amount.minor == 0:
        # Refundry settles it: all of it, or all it gives back, is points.
        settled = ProviderRefund(None, ProviderRefundState.COMPLETED)
        return Step(message, lambda uow, locked, _answer: record(uow, locked, settled))
    if refund.provider_reference is None:
        instruction = RefundInstruction(
            refund_id=refund.id,
            order_id=order.id,
            payment_reference=order.payment.reference,
            amount=refund.money_amount,  # points come back through the ledger
            reason=refund.reason,
        )
        return Step(message, record, partial(provider.refund, instruction), provider.name)
    fetch = partial(provider.fetch_refund, refund.provider_reference)
    return Step(message, record, fetch, provider.name)


def _record_refund(
    work: ProviderWork,
    message: OutboxMessage,
    refund_id: uuid.UUID,
    reference: str | None,
    uow: UnitOfWork,
    order: Order,
    answer: Answer,
) -> None:
    match answer:
        case ProviderRefund():
            outcome = answer
        case ProviderRejected():
            outcome = ProviderRefund(reference, ProviderRefundState.FAILED, answer.detail)
        case _:
            _retry_later(work, message, _unavailable(message, answer), uow)
            return
    refund = apply_refund_outcome(uow, order, refund_id, outcome)
    if refund.is_pending:
        policy = work.policy
        base = policy.poll_fallback if policy.events_expected else policy.poll_base
        delay = backoff_delay(
            message.attempts,
            base=base,
            ceiling=max(policy.poll_ceiling, base),
            jitter=policy.jitter(),
        )
        uow.outbox.retry(message, utcnow() + delay, None)
    else:
        uow.outbox.finish(message, utcnow())


# ------------------------------------------------------------------- voids
def _plan_void(work: ProviderWork, message: OutboxMessage, order: Order) -> Step:
    if order.payment.authorization_state is not AuthorizationState.VOID_PENDING:
        return Step(message, partial(_finish, message))
    record = partial(_record_void, work, message)
    provider = work.providers.for_order(order)
    if provider is None or order.payment.reference is None:
        return Step(message, record)
    void = partial(
        provider.void_authorization, order.payment.reference, idempotency_key=f"void-{order.id}"
    )
    return Step(message, record, void, provider.name)


def _record_void(
    work: ProviderWork, message: OutboxMessage, uow: UnitOfWork, order: Order, answer: Answer
) -> None:
    if isinstance(answer, ProviderRejected):
        detail, fields = answer.detail, message.log_fields()
        logger.error("void of order %s refused by the provider: %s", order.id, detail, extra=fields)
        order.authorization_void_refused(utcnow())
        uow.outbox.fail(message, answer.detail, utcnow())
    elif answer is None:
        if order.payment.authorization_state is AuthorizationState.VOID_PENDING:
            order.authorization_voided(utcnow())
        uow.outbox.finish(message, utcnow())
    else:
        _retry_later(work, message, _unavailable(message, answer), uow)


# ------------------------------------------------------------------ events
def _plan_event(_work: ProviderWork, message: OutboxMessage, _order: Order) -> Step:
    return Step(message, partial(_record_event, message))


def _record_event(message: OutboxMessage, uow: UnitOfWork, order: Order, _answer: Answer) -> None:
    """A provider's event the request that received it could not apply."""
    apply_refund_event(uow, order, event_from_payload(message.payload))
    uow.outbox.finish(message, utcnow())


PLANNERS: dict[Topic, Callable[[ProviderWork, OutboxMessage, Order], Step]] = {
    Topic.PROVIDER_REFUND: _plan_refund,
    Topic.PROVIDER_VOID_AUTHORIZATION: _plan_void,
    Topic.PROVIDER_REFUND_EVENT: _plan_event,
}


# ------------------------------------------------------------------ shared
def _finish(message: OutboxMessage, uow: UnitOfWork, _order: Order, _answer: Answer) -> None:
    uow.outbox.finish(message, utcnow())


def _unavailable(message: OutboxMessage, answer: Answer) -> ProviderUnavailable:
    if isinstance(answer, ProviderUnavailable):
        return answer
    # Anything else a call raised is a bug or an answer we do not understand: logged in
    # full, and retried like an outage rather than taken for a result.
    fields = message.log_fields()
    logger.error("%s %s: unexpected answer %r", message.topic, message.id, answer, extra=fields)
    return ProviderUnavailable(f"{type(answer).__name__}: {answer}")


def _retry_later(
    work: ProviderWork,
    message: OutboxMessage,
    error: ProviderUnavailable,
    uow: UnitOfWork,
    _order: Order | None = None,
    _answer: Answer = None,
) -> None:
    policy = work.policy
    delay = backoff_delay(
        message.attempts,
        base=policy.retry_base,
        ceiling=policy.retry_ceiling,
        jitter=policy.jitter(),
    )
    logger.warning(
        "%s %s: provider unavailable (%s); attempt %d, next in %.1f s",
        message.topic,
        message.id,
        error.detail,
        message.attempts,
        delay.total_seconds(),
        extra=message.log_fields(),
    )
    uow.outbox.retry(message, utcnow() + delay, error.detail)
