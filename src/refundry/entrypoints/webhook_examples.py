"""The payload examples of ``docs/webhooks.md``, made by the real payload builder.

``python -m refundry.entrypoints.webhook_examples`` prints them; ``--write`` puts them
into the document. A test fails when the document and this output differ, so the
examples always show what Refundry really sends. Ids are renumbered in order of first
appearance and times fixed, so the output is the same on every run.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from refundry.domain.events import (
    OrderAutoRefunded,
    OrderCancelled,
    OrderRefunded,
    RefundStatusChanged,
    ReturnChanged,
)
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    ReturnLineRequest,
    place_order,
)
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import ReceivedUnits
from refundry.domain.store_credit import StoreCreditAccount
from refundry.domain.webhooks import EventType
from refundry.entrypoints.api.schemas_webhooks import WebhookPayload
from refundry.services.handlers.webhook_payloads import store_credit_body, webhook_body

DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ACTOR = "api_key:5f0c8d3c2b7e4a8e9a1d2c3b4a5f6e7d"
EUR = Currency.of("EUR")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _order(external_id: str, *, points: int | None = None, value: int | None = None) -> Order:
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id=external_id,
        customer=Customer("ana@example.com"),
        currency=EUR,
        lines=[
            NewLine("MUG-STONE", "Stoneware mug", LineKind.PHYSICAL, 2, 1290, 258, 464),
            NewLine("POT-CAST", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, 0, 1098),
        ],
        shipping_amount=490,
        shipping_tax=98,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=AT - timedelta(days=2),
        points_redeemed=points,
        points_value=value,
    )


def _bodies(order: Order, idempotency_key: str | None, first: int) -> list[dict[str, Any]]:
    """The webhooks of the order's pending events, as the commit would make them now."""
    notifiable = [
        event
        for event in order.events
        if isinstance(
            event,
            OrderCancelled
            | OrderRefunded
            | RefundStatusChanged
            | OrderAutoRefunded
            | ReturnChanged,
        )
    ]
    order.events.clear()
    return [
        webhook_body(
            order,
            event,
            event_id=uuid.uuid4(),
            sequence=sequence,
            now=order.updated_at,
            idempotency_key=idempotency_key,
        )
        for sequence, event in enumerate(notifiable, first)
    ]


def examples() -> dict[EventType, dict[str, Any]]:
    """One example per event type Refundry emits today, each made at its own commit."""
    refunded = _order("ORDER-1001")
    made = refunded.refund(
        RefundRequest(lines=(LineRefundRequest(refunded.lines[0].id, 1),)),
        method=None,
        reason="Arrived chipped",
        created_by=ACTOR,
        now=AT,
    )
    refund_events = _bodies(refunded, "refund-ORDER-1001-1", 1)
    refunded.refund_processing(made.id, "re_3QxYz", AT + timedelta(seconds=2))
    refund_events += _bodies(refunded, None, 2)
    refunded.complete_refund(made.id, AT + timedelta(seconds=5))
    refund_events += _bodies(refunded, None, 3)
    cancelled = _order("ORDER-1002")
    cancelled.cancel(
        reason="Customer changed their mind", status_label=None, created_by=ACTOR, now=AT
    )
    cancel_events = _bodies(cancelled, "cancel-ORDER-1002", 1)
    reversed_order = _order("ORDER-1003", points=2000, value=2000)
    reversed_order.redeem_points(AT - timedelta(days=2))
    reversed_order.events.clear()
    reversed_order.auto_refund(reason=None, created_by="system:reconciliation", now=AT)
    auto_events = _bodies(reversed_order, None, 1)
    returned = _order("ORDER-1004")
    returned.fulfil(None, AT - timedelta(days=1))
    returned.events.clear()
    mugs = ReturnLineRequest(returned.lines[0].id, 2, "Too small")
    order_return = returned.create_return(
        [mugs],
        requested=True,
        restocking_fee_bp=1000,
        return_shipping_fee=0,
        note="Asked by e-mail",
        actor=ACTOR,
        now=AT,
    )
    return_events = _bodies(returned, "return-ORDER-1004", 1)
    returned.approve_return(order_return.id, ACTOR, AT + timedelta(minutes=5))
    units = [ReceivedUnits(returned.lines[0].id, 1, 1)]
    returned.receive_return(order_return.id, units, ACTOR, AT + timedelta(days=3))
    returned.events.clear()
    returned.refund_return(
        order_return.id,
        method=RefundMethod.ORIGINAL,
        reason=None,
        actor=ACTOR,
        now=AT + timedelta(days=3, minutes=1),
    )
    return_events += _bodies(returned, "refund-return-ORDER-1004", 4)
    credited = _order("ORDER-1004")
    credit_refund = credited.refund(
        RefundRequest(lines=(LineRefundRequest(credited.lines[1].id, 1),)),
        method=RefundMethod.STORE_CREDIT,
        reason="Kept as store credit",
        created_by=ACTOR,
        now=AT,
    )
    account = StoreCreditAccount(uuid.uuid4(), credited.merchant_id, "ana@example.com", EUR)
    assert credit_refund.store_credit_value is not None
    account.issue(
        credit_refund.store_credit_value,
        AT,
        validity_days=365,
        order_id=credited.id,
        refund_id=credit_refund.id,
    )
    account.spend(Money(2500, EUR), AT + timedelta(days=1), order_id=uuid.uuid4())
    store_credit_event = store_credit_body(
        account,
        account.entries[-1:],
        event_id=uuid.uuid4(),
        sequence=2,
        now=AT + timedelta(days=1),
        actor=ACTOR,
        idempotency_key="order-ORDER-1005",
    )
    chosen = {
        EventType.REFUNDED: refund_events[0],
        EventType.REFUND_UPDATED: refund_events[-1],
        EventType.CANCELLED: cancel_events[0],
        EventType.AUTO_REFUNDED: auto_events[0],
        EventType.RETURN_CREATED: return_events[0],
        EventType.RETURN_UPDATED: return_events[-1],
        EventType.STORE_CREDIT_UPDATED: store_credit_event,
    }
    for body in chosen.values():
        WebhookPayload.model_validate(
            body, by_alias=True
        )  # the documented schema, extra keys refused
    return chosen


def rendered() -> dict[EventType, str]:
    numbering: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        found = match.group(0)
        if found not in numbering:
            numbering[found] = f"00000000-0000-4000-8000-{len(numbering) + 1:012d}"
        return numbering[found]

    return {
        event_type: UUID.sub(renumber, json.dumps(body, indent=2))
        for event_type, body in examples().items()
    }


def block(event_type: EventType) -> tuple[str, str]:
    return f"<!-- example:{event_type.value}:start -->", f"<!-- example:{event_type.value}:end -->"


def with_examples(document: str) -> str:
    for event_type, text in rendered().items():
        start, end = block(event_type)
        before, _, rest = document.partition(start)
        _, _, after = rest.partition(end)
        document = f"{before}{start}\n```json\n{text}\n```\n{end}{after}"
    return document


def main() -> None:
    if "--write" in sys.argv:
        DOC.write_text(with_examples(DOC.read_text()))
    else:
        for event_type, text in rendered().items():
            sys.stdout.write(f"# {event_type.value}\n{text}\n")


if __name__ == "__main__":
    main()
