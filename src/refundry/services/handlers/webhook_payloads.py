"""The body of each webhook: the whole story of one change, as it stood when committed.

Thin payloads are the best-known webhook failure (which lines? how much? who?), so every
event carries the order's money figures, the refund exactly as ``GET /v1/refunds/{id}``
shows it at that moment, the units affected, the actor and the Idempotency-Key of the
request that caused it. The shape is documented in ``docs/webhooks.md``, whose examples
are generated from this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from refundry.domain.events import (
    CancelledUnits,
    NotifiableEvent,
    OrderAutoRefunded,
    OrderCancelled,
    OrderRefunded,
    RefundStatusChanged,
    ReturnChanged,
)
from refundry.domain.order import Order
from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntry
from refundry.domain.webhooks import EventType
from refundry.services.views.documents import json_time, refund_document, return_document

Json = dict[str, Any]

SYSTEM_ACTOR = "system"


def event_type(event: NotifiableEvent) -> EventType:
    match event:
        case OrderCancelled():
            return EventType.CANCELLED
        case OrderRefunded():
            return EventType.REFUNDED
        case RefundStatusChanged():
            return EventType.REFUND_UPDATED
        case OrderAutoRefunded():
            return EventType.AUTO_REFUNDED
        case ReturnChanged():
            if event.previous is None:
                return EventType.RETURN_CREATED
            return EventType.RETURN_UPDATED


def webhook_body(
    order: Order,
    event: NotifiableEvent,
    *,
    event_id: uuid.UUID,
    sequence: int,
    now: datetime,
    idempotency_key: str | None,
) -> Json:
    """``{id, type, timestamp, data}``, the envelope Standard Webhooks recommends."""
    data: Json = {"sequence": sequence, "order": order_summary(order)}
    match event:
        case OrderCancelled():
            refund = None if event.refund_id is None else order.refund_by_id(event.refund_id)
            data["cancellation"] = {
                "scope": "order" if event.item_id is None else "item",
                "item_id": None if event.item_id is None else str(event.item_id),
                "reason": event.reason,
                "lines": [_units(order, units) for units in event.units],
                "authorization_voided": event.authorization_voided,
            }
            data["refund"] = None if refund is None else refund_document(order, refund)
            actor = event.actor
        case OrderRefunded():
            refund = order.refund_by_id(event.refund_id)
            data["refund"] = refund_document(order, refund)
            actor = refund.created_by
        case RefundStatusChanged():
            refund = order.refund_by_id(event.refund_id)
            data["previous_status"] = event.previous.value
            data["refund"] = refund_document(order, refund)
            actor = SYSTEM_ACTOR
            idempotency_key = None  # the worker moved it, not a request
        case OrderAutoRefunded():
            data["refund"] = refund_document(order, order.refund_by_id(event.refund_id))
            data["auto_refund"] = {"reason": event.reason}
            actor = event.actor
        case ReturnChanged():
            order_return = order.return_by_id(event.return_id)
            data["return"] = return_document(order, order_return)
            data["previous_status"] = None if event.previous is None else event.previous.value
            refund_id = order_return.refund_id
            data["refund"] = (
                None if refund_id is None else refund_document(order, order.refund_by_id(refund_id))
            )
            actor = event.actor
    data["actor"] = actor_document(actor)
    data["idempotency_key"] = idempotency_key
    # Loyalty points the refund took back (given back, if negative, when it failed).
    refund_shown = data.get("refund")
    data["points_reversed"] = None if refund_shown is None else refund_shown["points_reversed"]
    data["points_restored"] = None if refund_shown is None else refund_shown["points_restored"]
    return {
        "id": str(event_id),
        "type": event_type(event).value,
        "timestamp": json_time(now),
        "data": data,
    }


def store_credit_body(
    account: StoreCreditAccount,
    entries: list[StoreCreditEntry],
    *,
    event_id: uuid.UUID,
    sequence: int,
    now: datetime,
    actor: str,
    idempotency_key: str | None,
) -> Json:
    """``store_credit.updated``: the account after one change, and the entries it wrote."""
    return {
        "id": str(event_id),
        "type": EventType.STORE_CREDIT_UPDATED.value,
        "timestamp": json_time(now),
        "data": {
            "sequence": sequence,
            "account_id": str(account.id),
            "customer": account.customer,
            "currency": account.currency.code,
            "balance": account.balance.minor,
            "available": account.available(now).minor,
            "entries": [store_credit_entry_document(entry) for entry in entries],
            "actor": actor_document(actor),
            "idempotency_key": idempotency_key,
        },
    }


def store_credit_entry_document(entry: StoreCreditEntry) -> Json:
    return {
        "id": str(entry.id),
        "kind": entry.kind.value,
        "amount": entry.amount,
        "sequence": entry.sequence,
        "expires_at": None if entry.expires_at is None else json_time(entry.expires_at),
        "order_id": None if entry.order_id is None else str(entry.order_id),
        "refund_id": None if entry.refund_id is None else str(entry.refund_id),
        "note": entry.note,
        "created_at": json_time(entry.created_at),
    }


def order_summary(order: Order) -> Json:
    """The figures of ``GET /v1/orders/{id}`` a receiver needs to mirror the order."""
    return {
        "id": str(order.id),
        "external_id": order.external_id,
        "order_status": order.status.value,
        "status_label": order.status_label,
        "currency": order.currency.code,
        "total": order.total.minor,
        "captured": order.payment.captured.minor,
        "refunded": order.refunded.minor,
        "refundable": order.refundable.minor,
        "points_earned": order.points.earned,
        "points_reversible": order.points.reversible,
        "points_redeemed": order.points.redeemed,
        "points_restorable": order.points.restorable,
        "store_credit_paid": order.payment.store_credit_paid.minor,
        "store_credit_refunded": order.store_credit_refunded.minor,
        "payment_method": order.payment.method.value,
    }


def actor_document(actor: str) -> Json:
    """``api_key:<id>`` and ``staff:<id>`` name who acted; anything else is Refundry itself
    (``system``) or the payment provider (``provider``)."""
    kind, _, identifier = actor.partition(":")
    if kind in ("api_key", "staff") and identifier:
        return {"type": kind, "id": identifier}
    if kind == "provider":
        return {"type": "provider", "id": identifier or None}
    return {"type": "system", "id": None}


def _units(order: Order, units: CancelledUnits) -> Json:
    return {
        "line_id": str(units.order_line_id),
        "sku": order.line(units.order_line_id).sku,
        "quantity": units.quantity,
    }
