"""Events providers send us: accepted once, applied as they arrive.

A refund made in the provider's own dashboard arrives here and is recorded as an
``external`` refund, completed, counting against the cap; an event about one of our
refunds moves it along like a poll would. The event is applied in the transaction that
stores it (one order lock, a few milliseconds), not handed to the worker: a refund
settled by its event then costs one transaction, not three and an outbox message, and
a replay changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from refundry.domain.errors import DatabaseUnavailable
from refundry.domain.payments import ProviderRefund, ProviderRefundEvent, ProviderRefundState
from refundry.services.clock import utcnow
from refundry.services.handlers.refund_outcomes import apply_refund_event
from refundry.services.ports.outbox import OutboxMessage, Topic
from refundry.services.transactions import run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger("refundry.providers")


def receive_provider_event(
    uow_factory: UnitOfWorkFactory,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    refund_event: ProviderRefundEvent | None,
    payload: bytes,
) -> bool:
    """Store the event once and apply a refund event about one of our orders at once,
    under the order's lock, in the same transaction. An event that cannot be applied
    now (an order in a state the event does not fit, a bug) is stored with a message
    for the worker instead, which retries it with backoff and logs why: the provider
    still gets its acknowledgement, and no event is lost. ``False`` when the provider
    had sent this event before."""
    receive = partial(
        _receive,
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        refund_event=refund_event,
        payload=payload,
    )
    try:
        return run(uow_factory, partial(receive, apply_now=True))
    except DatabaseUnavailable:
        raise  # a 503: the provider sends the event again; nothing was stored
    except Exception:
        logger.exception("provider event %s %s left to the worker", provider, event_id)
        return run(uow_factory, partial(receive, apply_now=False))


def _receive(
    uow: UnitOfWork,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    refund_event: ProviderRefundEvent | None,
    payload: bytes,
    apply_now: bool,
) -> bool:
    now = utcnow()
    target = None
    if refund_event is not None:
        target = uow.orders.find_payment_order(
            refund_event.refundry_order_id, refund_event.payment_reference
        )
    merchant_id, order_id = target if target is not None else (None, None)
    is_new = uow.provider_events.add_once(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        merchant_id=merchant_id,
        order_id=order_id,
        payload=payload.decode("utf-8", errors="replace"),
        now=now,
    )
    if not is_new or refund_event is None or merchant_id is None or order_id is None:
        return is_new
    if apply_now:
        apply_refund_event(uow, uow.orders.get(merchant_id, order_id), refund_event)
    else:
        message = OutboxMessage(
            uuid.uuid4(),
            merchant_id,
            order_id,
            Topic.PROVIDER_REFUND_EVENT,
            event_to_payload(refund_event),
            0,
            now,
        )
        uow.outbox.add([message], now)
    return is_new


def event_to_payload(event: ProviderRefundEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "reference": event.refund.reference,
        "state": event.refund.state.value,
        "failure_reason": event.refund.failure_reason,
        "amount": event.amount,
        "currency": event.currency_code,
        "refundry_refund_id": _text(event.refundry_refund_id),
        "refundry_order_id": _text(event.refundry_order_id),
        "payment_reference": event.payment_reference,
    }


def event_from_payload(payload: dict[str, Any]) -> ProviderRefundEvent:
    return ProviderRefundEvent(
        event_id=payload["event_id"],
        refund=ProviderRefund(
            payload["reference"],
            ProviderRefundState(payload["state"]),
            payload["failure_reason"],
        ),
        amount=int(payload["amount"]),
        currency_code=payload["currency"],
        refundry_refund_id=_id(payload["refundry_refund_id"]),
        refundry_order_id=_id(payload["refundry_order_id"]),
        payment_reference=payload["payment_reference"],
    )


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _id(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)
