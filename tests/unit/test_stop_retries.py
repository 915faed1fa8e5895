"""A stopped order's refused stop refunds are made again as themselves (issue 19): the
earliest first, one per retry; trimmed to the money left when a refund made elsewhere took
some; never one that failed before the order stopped (the stop covered its units)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

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
    place_order,
)
from refundry.domain.refund import Refund, RefundKind
from refundry.domain.status import OrderStatus
from refundry.domain.stop_check import stop_refund_drifts

T0 = datetime(2026, 12, 6, tzinfo=UTC)


def two_line_order() -> Order:
    """A 10.00 mug and a 25.88 teapot (with tax), paid by card, unshipped."""
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("a@example.com"),
        currency=Currency.of("EUR"),
        lines=[
            NewLine("MUG", "Mug", LineKind.PHYSICAL, 1, 1000, 0, 0),
            NewLine("POT", "Pot", LineKind.PHYSICAL, 1, 2000, 0, 588),
        ],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=T0,
    )
    order.events.clear()
    return order


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def retry(order: Order, minutes: int) -> Refund:
    return order.refund(
        RefundRequest.full(), method=None, reason=None, created_by="t", now=at(minutes)
    )


def test_an_item_cancel_refused_after_the_order_cancel_is_made_again_first() -> None:
    order = two_line_order()
    item = order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=at(1))
    order.cancel(reason=None, status_label=None, created_by="t", now=at(2))
    assert item is not None
    order.fail_refund(item.id, "declined", at(3))
    made = retry(order, 4)
    assert (made.kind, [line.quantity for line in made.breakdown.lines]) == (
        RefundKind.CANCELLATION, [1],
    )  # fmt: skip
    assert made.amount.minor == 1000
    assert order.refundable.minor == 0
    assert stop_refund_drifts(order) == []


def test_two_refused_stop_refunds_are_made_again_one_per_retry() -> None:
    order = two_line_order()
    item = order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=at(1))
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=at(2))
    assert item is not None
    assert cancellation.refund is not None
    order.fail_refund(item.id, "declined", at(3))
    order.fail_refund(cancellation.refund.id, "declined", at(3))
    first, second = retry(order, 4), retry(order, 5)
    assert [first.amount.minor, second.amount.minor] == [1000, 2588]
    assert {first.kind, second.kind} == {RefundKind.CANCELLATION}
    assert all(line.cancelled_quantity + order.line_refunds(line.id).quantity == 1
               for line in order.lines)  # fmt: skip
    assert order.refundable.minor == 0
    assert stop_refund_drifts(order) == []


def test_a_refund_made_elsewhere_meanwhile_trims_the_retry_and_keeps_its_units() -> None:
    order = two_line_order()
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=at(1))
    assert cancellation.refund is not None
    order.fail_refund(cancellation.refund.id, "declined", at(2))
    order.record_external_refund(Money(500, order.currency), "re_outside", None, at(3))
    made = retry(order, 4)
    assert made.kind is RefundKind.CANCELLATION
    assert [line.quantity for line in made.breakdown.lines] == [1, 1]
    assert (made.amount.minor, made.breakdown.adjustment.minor) == (3588 - 500, -500)
    assert order.refundable.minor == 0
    assert stop_refund_drifts(order) == []


def test_an_item_cancel_refused_before_the_order_cancel_is_not_owed_twice() -> None:
    # the item's refund fails while the order is live: the later cancel covers its unit
    order = two_line_order()
    item = order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=at(1))
    assert item is not None
    order.fail_refund(item.id, "declined", at(2))
    order.cancel(reason=None, status_label=None, created_by="t", now=at(3))
    assert order.status is OrderStatus.CANCELLED
    assert order.refundable.minor == 0  # all of it went back with the cancel


def stranded_order() -> Order:
    """The older defect's order: its mug cancelled while the money was only held, the whole
    order captured anyway, then its teapot cancelled; the mug's 10.00 stayed captured."""
    order = two_line_order()
    order.payment.captured = Money(0, order.currency)
    order.cancel_item(order.lines[0].id, reason=None, created_by="t", now=at(1))
    order.payment.captured = order.total  # the defect: a capture of the whole order
    order.cancel_item(order.lines[1].id, reason=None, created_by="t", now=at(2))
    assert (order.status, order.refundable.minor) == (OrderStatus.CANCELLED, 1000)
    return order


def drifts(order: Order) -> list[str]:
    return [drift.check for drift in stop_refund_drifts(order)]


def test_money_left_at_the_stop_is_named_after_its_refused_refund_is_made_again() -> None:
    # given the stranded order whose stop refund the provider refused, then twice more
    order = stranded_order()
    order.fail_refund(order.refunds[-1].id, "declined", at(3))
    assert drifts(order) == ["money_left_on_stopped_order"]
    order.fail_refund(retry(order, 4).id, "declined", at(5))
    # when the refused refund is made again at last (its amount and the 10.00 are left)
    made = retry(order, 6)
    assert (made.amount.minor, order.refundable.minor) == (2588, 1000)
    # then the mug's money left at the stop is still named
    assert drifts(order) == ["money_left_on_stopped_order"]


def test_refunds_owed_since_the_stop_made_again_in_parts_leave_nothing_to_name() -> None:
    # a line refund made before the cancel, refused after it, refunded again in parts
    order = two_line_order()
    line = order.refund(
        RefundRequest(lines=(LineRefundRequest(order.lines[0].id, 1),)),
        method=None, reason=None, created_by="t", now=at(1),
    )  # fmt: skip
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=at(2))
    assert cancellation.refund is not None
    order.fail_refund(line.id, "declined", at(3))
    order.fail_refund(cancellation.refund.id, "declined", at(3))
    assert drifts(order) == []
    retry(order, 4)  # the cancellation's, whole
    order.refund(RefundRequest(amount=400), method=None, reason=None, created_by="t", now=at(5))
    order.fail_refund(retry(order, 6).id, "declined", at(7))
    order.record_external_refund(Money(900, order.currency), "re_outside", None, at(8))
    assert order.refundable.minor == 0
    assert drifts(order) == []
