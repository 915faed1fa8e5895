"""The worker's side of the outbox: send refunds and voids to providers, follow them.

Each message is handled in three steps, none of which holds a lock across the network:
read the order, call the provider (the refund id is the provider's idempotency key),
then record the outcome under the order's lock in a new transaction, together with the
message's next state. A crash between any two steps leaves a leased message whose lease
runs out; the next attempt calls the provider with the same key and gets the same
refund back, so a refund is paid once whatever happens to the worker.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from refundry.domain.errors import ProviderRejected, ProviderUnavailable
from refundry.domain.money import Money
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.payments import ProviderRefund, ProviderRefundState, RefundInstruction
from refundry.domain.refund import Refund
from refundry.domain.retry import backoff_delay
from refundry.services.clock import utcnow
from refundry.services.handlers.provider_events import event_from_payload
from refundry.services.ports.outbox import OutboxMessage, Topic
from refundry.services.ports.payment_providers import ProviderRegistry
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.worker")


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    lease: timedelta = timedelta(seconds=60)  # longer than any provider call may take
    batch_size: int = 20
    retry_base: timedelta = timedelta(seconds=2)  # after a provider was unavailable
    retry_ceiling: timedelta = timedelta(hours=1)
    poll_base: timedelta = timedelta(seconds=1)  # while a provider settles a refund
    poll_ceiling: timedelta = timedelta(minutes=10)
    jitter: Callable[[], float] = field(default=random.random)


@dataclass(frozen=True, slots=True)
class ProviderWork:
    uow_factory: UnitOfWorkFactory
    providers: ProviderRegistry
    policy: OutboxPolicy = OutboxPolicy()


def process_outbox(work: ProviderWork) -> int:
    """Handle up to a batch of due messages; returns how many were handled.

    Messages are leased one at a time, right before their calls, so a lease only has
    to outlast one message's calls, never a whole batch's.
    """
    handled = 0
    for _ in range(work.policy.batch_size):
        message = _lease_one(work)
        if message is None:
            break
        try:
            HANDLERS[message.topic](work, message)
        except Exception as error:
            # A bug or an unexpected answer must not stall the other messages; this one
            # backs off like an unavailable provider and says why.
            logger.exception("%s %s failed unexpectedly", message.topic, message.id)
            _retry_later(work, message, ProviderUnavailable(f"{type(error).__name__}: {error}"))
        handled += 1
    return handled


def _lease_one(work: ProviderWork) -> OutboxMessage | None:
    now = utcnow()
    lease_until = now + work.policy.lease
    leased = run(
        work.uow_factory,
        lambda uow: uow.outbox.lease_due(now, limit=1, lease_until=lease_until),
    )
    return leased[0] if leased else None


def send_refund(work: ProviderWork, message: OutboxMessage) -> None:
    refund_id = uuid.UUID(message.payload["refund_id"])
    order = _read_order(work, message)
    refund = order.refund_by_id(refund_id)
    if not refund.is_pending:
        run(work.uow_factory, lambda uow: uow.outbox.finish(message, utcnow()))
        return
    try:
        provider = work.providers.for_order(order)
        if provider is None or refund.money_amount.minor == 0:
            # Refundry settles it: all of it, or all it gives back, is points.
            outcome = ProviderRefund(None, ProviderRefundState.COMPLETED)
        elif refund.provider_reference is None:
            outcome = provider.refund(
                RefundInstruction(
                    refund_id=refund.id,
                    order_id=order.id,
                    payment_reference=order.payment.reference,
                    amount=refund.money_amount,  # points come back through the ledger
                    reason=refund.reason,
                )
            )
        else:
            outcome = provider.fetch_refund(refund.provider_reference)
    except ProviderUnavailable as error:
        _retry_later(work, message, error)
        return
    except ProviderRejected as error:
        outcome = ProviderRefund(
            refund.provider_reference, ProviderRefundState.FAILED, error.detail
        )
    run(
        work.uow_factory,
        lambda uow: _record_refund_outcome(uow, work, message, refund_id, outcome),
    )


def apply_refund_outcome(
    uow: UnitOfWork, order: Order, refund_id: uuid.UUID, outcome: ProviderRefund
) -> Refund:
    """Apply what the provider said to a refund of a locked order; a settled one stays so."""
    now = utcnow()
    refund = order.refund_by_id(refund_id)
    if not refund.is_pending:
        return refund  # the provider may tell us twice, by poll and by event
    match outcome.state:
        case ProviderRefundState.PROCESSING:
            order.refund_processing(refund_id, outcome.reference, now)
        case ProviderRefundState.COMPLETED:
            order.complete_refund(
                refund_id, now, "settled by the provider", provider_reference=outcome.reference
            )
        case ProviderRefundState.FAILED:
            reason = outcome.failure_reason or "refused by the provider"
            order.fail_refund(refund_id, reason, now)
            logger.warning("refund %s failed at the provider: %s", refund_id, reason)
    return refund


def _record_refund_outcome(
    uow: UnitOfWork,
    work: ProviderWork,
    message: OutboxMessage,
    refund_id: uuid.UUID,
    outcome: ProviderRefund,
) -> None:
    assert message.order_id is not None
    order = uow.orders.get(message.merchant_id, message.order_id)
    refund = apply_refund_outcome(uow, order, refund_id, outcome)
    now = utcnow()
    if refund.is_pending:
        delay = backoff_delay(
            message.attempts,
            base=work.policy.poll_base,
            ceiling=work.policy.poll_ceiling,
            jitter=work.policy.jitter(),
        )
        uow.outbox.retry(message, now + delay, None)
    else:
        uow.outbox.finish(message, now)


def void_authorization(work: ProviderWork, message: OutboxMessage) -> None:
    order = _read_order(work, message)
    if order.payment.authorization_state is not AuthorizationState.VOID_PENDING:
        run(work.uow_factory, lambda uow: uow.outbox.finish(message, utcnow()))
        return
    try:
        provider = work.providers.for_order(order)
        if provider is not None and order.payment.reference is not None:
            provider.void_authorization(order.payment.reference, idempotency_key=f"void-{order.id}")
    except ProviderUnavailable as error:
        _retry_later(work, message, error)
        return
    except ProviderRejected as error:
        refusal = error.detail
        logger.error("void of order %s refused by the provider: %s", order.id, refusal)

        def record_refusal(uow: UnitOfWork) -> None:
            assert message.order_id is not None
            uow.orders.get(message.merchant_id, message.order_id).authorization_void_refused(
                utcnow()
            )
            uow.outbox.fail(message, refusal, utcnow())

        run(work.uow_factory, record_refusal)
        return

    def record(uow: UnitOfWork) -> None:
        locked = uow.orders.get(message.merchant_id, order.id)
        locked.authorization_voided(utcnow())
        uow.outbox.finish(message, utcnow())

    run(work.uow_factory, record)


def apply_refund_event(work: ProviderWork, message: OutboxMessage) -> None:
    """A provider's event about a refund: ours moves along; one we never asked for (made
    in the provider's dashboard) is recorded as an external, completed refund."""
    event = event_from_payload(message.payload)

    def record(uow: UnitOfWork) -> None:
        assert message.order_id is not None
        order = uow.orders.get(message.merchant_id, message.order_id)
        ours = next(
            (
                refund
                for refund in order.refunds
                if refund.id == event.refundry_refund_id
                or (event.refund.reference and refund.provider_reference == event.refund.reference)
            ),
            None,
        )
        if ours is not None:
            apply_refund_outcome(uow, order, ours.id, event.refund)
        elif event.refund.state is ProviderRefundState.COMPLETED and event.refund.reference:
            if event.currency_code != order.currency.code:
                logger.error(
                    "event %s refunds %s on a %s order; not recorded",
                    event.event_id,
                    event.currency_code,
                    order.currency.code,
                )
            else:
                order.record_external_refund(
                    Money(event.amount, order.currency), event.refund.reference, None, utcnow()
                )
        uow.outbox.finish(message, utcnow())

    run(work.uow_factory, record)


HANDLERS: dict[Topic, Callable[[ProviderWork, OutboxMessage], None]] = {
    Topic.PROVIDER_REFUND: send_refund,
    Topic.PROVIDER_VOID_AUTHORIZATION: void_authorization,
    Topic.PROVIDER_REFUND_EVENT: apply_refund_event,
}


def _read_order(work: ProviderWork, message: OutboxMessage) -> Order:
    assert message.order_id is not None
    order_id = message.order_id
    return read(work.uow_factory, lambda uow: uow.orders.get(message.merchant_id, order_id))


def _retry_later(work: ProviderWork, message: OutboxMessage, error: ProviderUnavailable) -> None:
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
    )
    run(
        work.uow_factory,
        lambda uow: uow.outbox.retry(message, utcnow() + delay, error.detail),
    )
