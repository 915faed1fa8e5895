"""The one restock rule: every change that moves stock records one StockMoved (the bus's
stock handler applies it), and a change that moves none records none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from refundry.domain.events import StockMoved
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

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def an_order(*, captured: bool = True) -> Order:
    """Two mugs and a teapot (both on the shelf), and an e-book (never stocked)."""
    return place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=[
            NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 2, 1290),
            NewLine("POT", "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490),
            NewLine("EBOOK", "Tea e-book", LineKind.DIGITAL, 1, 900),
        ],
        shipping_amount=490,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC if captured else CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=NOW,
    )


def stock_moved(order: Order) -> list[StockMoved]:
    """The StockMoved events the order recorded since the last call."""
    moved = [event for event in order.events if isinstance(event, StockMoved)]
    order.events.clear()
    return moved


def line_id(order: Order, sku: str) -> uuid.UUID:
    return next(line.id for line in order.lines if line.sku == sku)


def test_placing_an_order_takes_its_stocked_units_off_the_shelf() -> None:
    order = an_order()
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", -2), ("POT", -1)))]


def test_two_lines_of_one_sku_move_it_once() -> None:
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=[
            NewLine("MUG", "Stoneware mug", LineKind.PHYSICAL, 2, 1290),
            NewLine("MUG", "Stoneware mug, gift-wrapped", LineKind.PHYSICAL, 3, 1390),
        ],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
    )
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", -5),))]


def test_cancelling_a_captured_order_puts_every_open_unit_back() -> None:
    # given a paid order, nothing shipped
    order = an_order()
    stock_moved(order)
    # when it is cancelled
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=LATER)
    # then its cancellation refund restocks both SKUs, and the e-book moves nothing
    assert cancellation.refund is not None
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", 2), ("POT", 1)))]


def test_cancelling_an_uncaptured_order_puts_the_stopped_units_back() -> None:
    order = an_order(captured=False)
    stock_moved(order)
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=LATER)
    assert cancellation.refund is None
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", 2), ("POT", 1)))]


def test_a_cancel_does_not_restock_units_an_earlier_refund_already_put_back() -> None:
    # given one mug refunded before anything shipped (an unshipped unit goes back at once)
    order = an_order()
    order.refund(
        RefundRequest(lines=(LineRefundRequest(line_id(order, "MUG"), 1),)),
        method=None,
        reason=None,
        created_by="t",
        now=LATER,
    )
    stock_moved(order)
    # when the order is cancelled, only what is left moves
    order.cancel(reason=None, status_label=None, created_by="t", now=LATER)
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", 1), ("POT", 1)))]


def test_cancelling_an_item_of_a_captured_order_restocks_it_through_its_refund() -> None:
    order = an_order()
    stock_moved(order)
    refund = order.cancel_item(line_id(order, "MUG"), reason=None, created_by="t", now=LATER)
    assert refund is not None
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", 2),))]


def test_cancelling_an_item_of_an_uncaptured_order_restocks_the_stopped_units() -> None:
    order = an_order(captured=False)
    stock_moved(order)
    refund = order.cancel_item(line_id(order, "POT"), reason=None, created_by="t", now=LATER)
    assert refund is None
    assert order.line(line_id(order, "POT")).cancelled_quantity == 1
    assert stock_moved(order) == [StockMoved(order.id, (("POT", 1),))]


def test_cancelling_an_unstocked_item_moves_no_stock() -> None:
    order = an_order(captured=False)
    stock_moved(order)
    order.cancel_item(line_id(order, "EBOOK"), reason=None, created_by="t", now=LATER)
    assert stock_moved(order) == []


def test_a_refund_with_restock_puts_shipped_units_back() -> None:
    # given a shipped order
    order = an_order()
    order.fulfil(None, NOW)
    stock_moved(order)
    # when one mug comes back with restock
    order.refund(
        RefundRequest(lines=(LineRefundRequest(line_id(order, "MUG"), 1, restock=True),)),
        method=None,
        reason="Returned",
        created_by="t",
        now=LATER,
    )
    # then it is back on the shelf
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", 1),))]


def test_a_refund_without_restock_leaves_shipped_units_off_the_shelf() -> None:
    order = an_order()
    order.fulfil(None, NOW)
    stock_moved(order)
    order.refund(
        RefundRequest(lines=(LineRefundRequest(line_id(order, "MUG"), 1),)),
        method=None,
        reason="Arrived chipped",
        created_by="t",
        now=LATER,
    )
    assert stock_moved(order) == []


def test_a_refund_made_in_the_providers_dashboard_moves_no_stock() -> None:
    # given a paid order, nothing shipped
    order = an_order()
    stock_moved(order)
    # when the provider tells of a refund made in its own dashboard (money only)
    order.record_external_refund(Money(1000, order.currency), "re_dashboard", None, LATER)
    # then nothing comes back on the shelf: no units were named
    assert stock_moved(order) == []


def test_a_refund_without_restock_still_puts_unshipped_units_back() -> None:
    # they will never ship now
    order = an_order()
    stock_moved(order)
    order.refund(
        RefundRequest(lines=(LineRefundRequest(line_id(order, "POT"), 1),)),
        method=None,
        reason=None,
        created_by="t",
        now=LATER,
    )
    assert stock_moved(order) == [StockMoved(order.id, (("POT", 1),))]


def test_a_failed_refund_takes_its_restock_back_off_the_shelf() -> None:
    # given a restocking refund of a shipped mug
    order = an_order()
    order.fulfil(None, NOW)
    refund = order.refund(
        RefundRequest(lines=(LineRefundRequest(line_id(order, "MUG"), 1, restock=True),)),
        method=None,
        reason="Returned",
        created_by="t",
        now=LATER,
    )
    stock_moved(order)
    # when the provider refuses it
    order.fail_refund(refund.id, "card_declined", LATER)
    # then the mug leaves the shelf again
    assert stock_moved(order) == [StockMoved(order.id, (("MUG", -1),))]


def test_a_failed_cancellation_refund_leaves_the_units_on_the_shelf() -> None:
    # given a cancelled order whose cancellation refund the provider then refuses
    order = an_order()
    cancellation = order.cancel(reason=None, status_label=None, created_by="t", now=LATER)
    assert cancellation.refund is not None
    stock_moved(order)
    order.fail_refund(cancellation.refund.id, "card_declined", LATER)
    # then the units stay cancelled, on the shelf: nothing moves
    assert stock_moved(order) == []
    assert order.line(line_id(order, "MUG")).cancelled_quantity == 2


def test_an_amount_refund_moves_no_stock() -> None:
    order = an_order()
    stock_moved(order)
    order.refund(RefundRequest(amount=500), method=None, reason=None, created_by="t", now=LATER)
    assert stock_moved(order) == []


def test_an_automatic_reversal_puts_the_unshipped_units_back() -> None:
    # given a redeem order (points paid part of it), nothing shipped
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=[NewLine("POT", "Cast-iron teapot", LineKind.PHYSICAL, 3, 1000)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
        points_redeemed=1500,
        points_value=1200,
    )
    stock_moved(order)
    # when reconciliation reverses it
    order.auto_refund(reason=None, created_by="system:reconciliation", now=LATER)
    # then every unit is back on the shelf
    assert StockMoved(order.id, (("POT", 3),)) in order.events
    assert stock_moved(order) == [StockMoved(order.id, (("POT", 3),))]
