"""Event handler: the events merchants hear about become webhook events and deliveries.

Run by the message bus in the same transaction as the change, so none is lost to a crash
and none is sent for a change that rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from refundry.domain.events import (
    OrderAutoRefunded,
    OrderCancelled,
    OrderRefunded,
    RefundStatusChanged,
    ReturnChanged,
)
from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntry
from refundry.domain.webhooks import EventType, WebhookEvent
from refundry.services.handlers import webhook_payloads
from refundry.services.json_text import dump_json
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork


def publish(uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime) -> None:
    for order, event in recorded:
        if not isinstance(
            event,
            OrderCancelled
            | OrderRefunded
            | RefundStatusChanged
            | OrderAutoRefunded
            | ReturnChanged,
        ):
            continue  # the bus routes only these here; the check narrows the type
        event_id = uuid.uuid4()
        sequence = uow.webhook_events.next_sequence(order.id)
        body = webhook_payloads.webhook_body(
            order,
            event,
            event_id=event_id,
            sequence=sequence,
            now=now,
            idempotency_key=uow.idempotency_key,
        )
        webhook_event = WebhookEvent(
            id=event_id,
            merchant_id=order.merchant_id,
            order_id=order.id,
            type=webhook_payloads.event_type(event),
            sequence=sequence,
            body=dump_json(body),
            created_at=now,
        )
        # The subscribed endpoints are found as the event is written (one statement,
        # however many endpoints), not read here first.
        uow.webhook_events.add_for_subscribers(webhook_event)


def publish_store_credit(
    uow: UnitOfWork,
    account: StoreCreditAccount,
    entries: list[StoreCreditEntry],
    now: datetime,
    actor: str,
) -> None:
    """One ``store_credit.updated`` for a change of one account (``entries``: what it
    wrote), numbered in the account's own stream."""
    if not entries:
        return
    event_id = uuid.uuid4()
    sequence = uow.webhook_events.next_sequence(account.id)
    body = webhook_payloads.store_credit_body(
        account,
        entries,
        event_id=event_id,
        sequence=sequence,
        now=now,
        actor=actor,
        idempotency_key=uow.idempotency_key,
    )
    event_type = EventType.STORE_CREDIT_UPDATED
    webhook_event = WebhookEvent(
        id=event_id,
        merchant_id=account.merchant_id,
        order_id=account.id,
        type=event_type,
        sequence=sequence,
        body=dump_json(body),
        created_at=now,
    )
    uow.webhook_events.add_for_subscribers(webhook_event)
