"""Events providers send us: accepted once, acted on by the worker.

A refund made in the provider's own dashboard arrives here and is recorded as an
``external`` refund, completed, counting against the cap; an event about one of our
refunds moves it along like a poll would. Receipt only stores the event and its work,
so the provider gets its acknowledgement fast and a replay changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from refundry.domain.payments import ProviderRefund, ProviderRefundEvent, ProviderRefundState
from refundry.services.clock import utcnow
from refundry.services.ports.outbox import OutboxMessage, Topic
from refundry.services.unit_of_work import UnitOfWork


def receive_provider_event(
    uow: UnitOfWork,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    refund_event: ProviderRefundEvent | None,
    payload: bytes,
) -> bool:
    """Store the event and, for a refund event about one of our orders, its work.
    ``False`` when the provider had sent this event before."""
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
    if is_new and refund_event is not None and merchant_id is not None:
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
