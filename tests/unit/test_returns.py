"""Returns on the order aggregate: what they hold, restock and give back (issue 19)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from refundry.domain.errors import InvalidInput
from refundry.domain.events import ReturnChanged, StockMoved
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    Order,
    PaymentMethod,
    ReturnLineRequest,
    place_order,
)
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import (
    ReceivedUnits,
    ReturnFeeTooHigh,
    ReturnNotOpen,
    ReturnQuantityExceeded,
    ReturnStatus,
    basis_points,
    restocking_fee,
)

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def shipped_order() -> Order:
    """3 teas at 890 (discount 100, tax 514), shipped; paid by card."""
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com"),
        currency=Currency.of("EUR"),
        lines=[NewLine("TEA", "Tea", LineKind.PHYSICAL, 3, 890, 100, 514)],
        shipping_amount=490,
        shipping_tax=98,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
    )
    order.fulfil(None, NOW)
    order.events.clear()
    return order


def returned_and_received(
    order: Order, resellable: int, damaged: int, fee_bp: int = 0
) -> uuid.UUID:
    tea = order.lines[0]
    made = order.create_return(
        [ReturnLineRequest(tea.id, resellable + damaged)],
        requested=False,
        restocking_fee_bp=fee_bp,
        return_shipping_fee=0,
        note=None,
        actor="staff:1",
        now=NOW,
    )
    order.receive_return(made.id, [ReceivedUnits(tea.id, resellable, damaged)], "staff:1", NOW)
    return made.id


def test_receipt_restocks_only_resellable_units_and_the_refund_restocks_nothing() -> None:
    order = shipped_order()
    return_id = returned_and_received(order, resellable=1, damaged=1)
    moves = [event for event in order.events if isinstance(event, StockMoved)]
    assert [event.moves for event in moves] == [(("TEA", 1),)]
    order.events.clear()
    refund = order.refund_return(
        return_id, method=RefundMethod.ORIGINAL, reason=None, actor="staff:1", now=NOW
    )
    assert not [event for event in order.events if isinstance(event, StockMoved)]
    assert [line.restocked_quantity for line in refund.breakdown.lines] == [0]
    assert [line.unfulfilled_quantity for line in refund.breakdown.lines] == [0]
    # 2 of 3: 1780 - 67 discount + 343 tax, each share exact
    assert refund.amount == Money(2056, Currency.of("EUR"))
    assert order.return_by_id(return_id).status is ReturnStatus.CLOSED


def test_fees_are_kept_from_the_value_and_never_exceed_it() -> None:
    order = shipped_order()
    return_id = returned_and_received(order, resellable=2, damaged=0, fee_bp=basis_points("12.5"))
    breakdown = order.preview_return_refund(return_id, NOW)
    assert breakdown.fees == restocking_fee(Money(2056, Currency.of("EUR")), 1250)
    assert breakdown.fees.minor == 257  # 12.5% of 2056, by the allocator
    assert breakdown.total.minor == 2056 - 257
    with pytest.raises(ReturnFeeTooHigh):
        order.create_return(
            [ReturnLineRequest(order.lines[0].id, 1)],
            requested=False,
            restocking_fee_bp=0,
            return_shipping_fee=10_000,
            note=None,
            actor="staff:1",
            now=NOW,
        )


def test_a_failed_return_refund_reopens_the_return_so_its_units_are_not_returned_twice() -> None:
    order = shipped_order()
    return_id = returned_and_received(order, resellable=3, damaged=0)
    refund = order.refund_return(
        return_id, method=RefundMethod.ORIGINAL, reason=None, actor="staff:1", now=NOW
    )
    order.fail_refund(refund.id, "card closed", NOW)
    reopened = order.return_by_id(return_id)
    assert (reopened.status, reopened.refund_id) == (ReturnStatus.RECEIVED, None)
    assert order.returnable_quantity(order.lines[0]) == 0  # the units are back already
    with pytest.raises(ReturnQuantityExceeded):
        order.create_return(
            [ReturnLineRequest(order.lines[0].id, 1)],
            requested=False,
            restocking_fee_bp=0,
            return_shipping_fee=0,
            note=None,
            actor="staff:1",
            now=NOW,
        )
    again = order.refund_return(
        return_id, method=RefundMethod.OTHER, reason=None, actor="staff:1", now=NOW
    )
    assert again.amount == refund.amount


def test_status_rules_and_events() -> None:
    order = shipped_order()
    tea = order.lines[0]
    made = order.create_return(
        [ReturnLineRequest(tea.id, 1, "  ")],
        requested=True,
        restocking_fee_bp=0,
        return_shipping_fee=0,
        note="",
        actor="staff:1",
        now=NOW,
    )
    assert (made.lines[0].reason, made.note) == (None, None)
    with pytest.raises(ReturnNotOpen):
        order.receive_return(made.id, [ReceivedUnits(tea.id, 1, 0)], "staff:1", NOW)
    with pytest.raises(InvalidInput):
        order.decline_return(made.id, " ", "staff:1", NOW)
    order.decline_return(made.id, "worn", "staff:1", NOW)
    changes = [event for event in order.events if isinstance(event, ReturnChanged)]
    assert [(event.previous, event.actor) for event in changes] == [
        (None, "staff:1"),
        (ReturnStatus.REQUESTED, "staff:1"),
    ]
    assert order.returnable_quantity(tea) == 3


def test_percentages_have_at_most_two_decimals_and_lie_between_0_and_100() -> None:
    assert (basis_points(10), basis_points("12.25"), basis_points("0")) == (1000, 1225, 0)
    for bad in ("12.345", "-1", "100.01", "nan", "ten"):
        with pytest.raises(InvalidInput):
            basis_points(bad)


def test_a_failed_refund_of_a_partly_received_return_holds_only_what_arrived() -> None:
    # given 2 of 3 teas in a return, 1 received, refunded; the unit released goes into a
    # second return
    order = shipped_order()
    tea = order.lines[0]
    first = order.create_return(
        [ReturnLineRequest(tea.id, 2)],
        requested=False,
        restocking_fee_bp=0,
        return_shipping_fee=0,
        note=None,
        actor="staff:1",
        now=NOW,
    )
    order.receive_return(first.id, [ReceivedUnits(tea.id, 1, 0)], "staff:1", NOW)
    refund = order.refund_return(
        first.id, method=RefundMethod.ORIGINAL, reason=None, actor="staff:1", now=NOW
    )
    assert first.lines[0].quantity == 1  # closing released the unit that never came
    assert "1 unit(s) never received released" in (first.history[-1].detail or "")
    second = order.create_return(
        [ReturnLineRequest(tea.id, 2)],
        requested=False,
        restocking_fee_bp=0,
        return_shipping_fee=0,
        note=None,
        actor="staff:1",
        now=NOW,
    )
    # when the first refund fails
    order.fail_refund(refund.id, "declined", NOW)
    # then the first return holds its one received unit only: 3 held of 3 sold
    assert first.status is ReturnStatus.RECEIVED
    assert order.units_in_returns(tea.id) == 3
    # and both can still end: the first refunded again, the second received and refunded
    order.refund_return(first.id, method=RefundMethod.OTHER, reason=None, actor="s", now=NOW)
    order.receive_return(second.id, [ReceivedUnits(tea.id, 2, 0)], "staff:1", NOW)
    order.refund_return(second.id, method=RefundMethod.OTHER, reason=None, actor="s", now=NOW)
    assert order.line_refunds(tea.id).quantity == 3


def test_a_flat_fee_above_what_arrived_keeps_it_all_and_the_return_still_closes() -> None:
    # given a return of 2 teas with a return-shipping fee of 15.00 (checked against both)
    order = shipped_order()
    tea = order.lines[0]
    made = order.create_return(
        [ReturnLineRequest(tea.id, 2)],
        requested=False,
        restocking_fee_bp=0,
        return_shipping_fee=1500,
        note=None,
        actor="staff:1",
        now=NOW,
    )
    # when one tea (worth 10.28) arrives, then the refund keeps it all and closes the return
    order.receive_return(made.id, [ReceivedUnits(tea.id, 1, 0)], "staff:1", NOW)
    refund = order.refund_return(
        made.id, method=RefundMethod.ORIGINAL, reason=None, actor="staff:1", now=NOW
    )
    assert (refund.amount.minor, refund.breakdown.fees.minor) == (0, 1028)
    assert refund.status.value == "completed"
    assert made.status is ReturnStatus.CLOSED
