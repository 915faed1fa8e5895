"""Cancelling items: the last item of an unshipped order stops the order itself, as a
whole-order cancel would (issue 19: it used to end "fully_refunded", not cancelled)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from refundry.domain.events import AuthorizationVoidRequested, OrderCancelled
from refundry.domain.money import Currency
from refundry.domain.order import (
    AuthorizationState,
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    Order,
    PaymentMethod,
    place_order,
)
from refundry.domain.refund import RefundKind
from refundry.domain.status import OrderStatus

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def placed(*lines: NewLine, captured: bool = True) -> Order:
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=list(lines),
        shipping_amount=490,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC if captured else CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=NOW,
    )


MUGS = NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 2, 1290)
POT = NewLine("POT", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490)
CARDS = NewLine("GIFT", "Gift card", LineKind.GIFT_CARD_LINK, 2, 2500)


def test_cancelling_the_only_line_of_a_paid_order_cancels_the_order() -> None:
    # given a paid order of one line
    order = placed(MUGS)
    # when that line is cancelled as an item
    refund = order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=LATER)
    # then the order is cancelled, and all its money, shipping too (nothing will ship),
    # comes back as a cancellation refund
    assert order.status is OrderStatus.CANCELLED
    assert order.cancelled_at == LATER
    assert order.status_label == "cancelled"
    assert refund is not None
    assert refund.kind is RefundKind.CANCELLATION
    assert refund.amount == order.payment.captured
    # and the order's end is told as the order's cancel (webhook scope "order")
    cancelled = [event for event in order.events if isinstance(event, OrderCancelled)]
    assert [event.item_id for event in cancelled] == [None]


def test_cancelling_one_of_two_lines_leaves_the_order_partly_refunded() -> None:
    order = placed(MUGS, POT)
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=LATER)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.cancelled_at is None
    cancelled = [event for event in order.events if isinstance(event, OrderCancelled)]
    assert [event.item_id for event in cancelled] == [order.lines[0].id]


def test_cancelling_the_last_open_line_after_another_cancels_the_order() -> None:
    order = placed(MUGS, POT)
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=LATER)
    order.cancel_item(order.lines[1].id, reason="Out of stock", created_by="t", now=LATER)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "Out of stock"
    assert order.refundable.minor == 0  # the shipping went back with the last line


def test_cancelling_the_only_line_of_a_held_order_cancels_it_and_releases_the_hold() -> None:
    # given an order whose payment is only authorized
    order = placed(MUGS, captured=False)
    order.events.clear()
    # when its only line is cancelled
    refund = order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=LATER)
    # then no money moves, the order is cancelled and its hold is released
    assert refund is None
    assert order.status is OrderStatus.CANCELLED
    assert order.payment.authorization_state is AuthorizationState.VOID_PENDING
    assert AuthorizationVoidRequested(order.id) in order.events


def test_a_gift_card_order_is_cancelled_with_its_last_link() -> None:
    order = placed(CARDS)
    first, second = order.links
    order.cancel_item(first.id, reason=None, created_by="t", now=LATER)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    order.cancel_item(second.id, reason=None, created_by="t", now=LATER)
    assert order.status is OrderStatus.CANCELLED


def test_an_opened_link_left_keeps_the_order_alive() -> None:
    order = placed(CARDS)
    first, second = order.links
    order.open_link(second.id, LATER)
    order.cancel_item(first.id, reason=None, created_by="t", now=LATER)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED


def test_a_line_cancelled_after_another_shipped_leaves_the_order_as_the_ledger_says() -> None:
    order = placed(MUGS, POT)
    order.fulfil({order.lines[1].id: 1}, NOW)
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=LATER)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
