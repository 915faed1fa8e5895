"""For any order and any sequence of returns, receipts, refunds, cancels, fulfilments and
provider answers: units returned, refunded and cancelled never exceed units sold, nothing
is restocked twice, a return's fees never exceed its value, and a refused operation
changes nothing (issue 19)."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from refundry.domain.errors import RefundryError
from refundry.domain.events import StockMoved
from refundry.domain.money import Money
from refundry.domain.order import LineKind, Order, ReturnLineRequest
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import ReceivedUnits, ReturnStatus
from tests.unit.test_refund_ledger_properties import (
    NOW,
    apply,
    check_invariants,
    orders,
    snapshot,
)


@st.composite
def shipped_orders(draw: st.DrawFn) -> Order:
    """Paid orders of physical goods, every unit shipped: what returns are about."""
    order = draw(orders())
    for line in order.lines:
        line.kind = LineKind.PHYSICAL
    order.links.clear()
    with contextlib.suppress(RefundryError):
        order.fulfil(None, NOW)
    order.events.clear()
    return order


return_operations = st.lists(
    st.one_of(
        st.tuples(st.just("fulfil"), st.integers(0, 3), st.integers(1, 3), st.just(False)),
        st.tuples(st.just("lines"), st.integers(0, 3), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("fail"), st.integers(0, 10), st.just(0), st.just(False)),
        st.tuples(st.just("settle"), st.integers(0, 10), st.just(0), st.just(False)),
        st.tuples(st.just("cancel"), st.just(0), st.just(0), st.just(False)),
        # returns, receipts and their refunds come up three times as often as the rest
        *[st.tuples(st.just("return"), st.integers(0, 3), st.integers(1, 4), st.booleans())] * 3,
        *[st.tuples(st.just("receive"), st.integers(0, 5), st.integers(0, 3), st.booleans())] * 3,
        *[st.tuples(st.just("refund_return"), st.integers(0, 5), st.integers(0, 2), st.booleans())]
        * 3,
        st.tuples(st.just("cancel_return"), st.integers(0, 5), st.just(0), st.just(False)),
        st.tuples(st.just("exchange"), st.integers(0, 5), st.integers(0, 3), st.booleans()),
        st.tuples(st.just("approve"), st.integers(0, 5), st.just(0), st.just(False)),
    ),
    max_size=24,
)


def apply_return_operation(order: Order, operation: tuple[str, int, int, bool]) -> None:
    kind, first, second, flag = operation
    line = order.lines[first % len(order.lines)]
    # mostly the newest return: the one the sequence is most likely working through
    chosen = None
    if order.returns:
        newest = first < 4 or len(order.returns) == 1
        chosen = order.returns[-1 if newest else first % len(order.returns)]
    if kind == "return":
        # mostly a line that can come back, mostly no more units than it has
        returnable = [c for c in order.lines if order.returnable_quantity(c) > 0]
        line = returnable[first % len(returnable)] if returnable and second < 4 else line
        quantity = second if second == 4 else min(second, order.returnable_quantity(line)) or 1
        order.create_return(
            [ReturnLineRequest(line.id, quantity)],
            requested=flag,
            restocking_fee_bp=1000 if flag else 0,
            return_shipping_fee=second * 100,
            note=None,
            actor="t",
            now=NOW,
        )
    elif kind == "receive" and chosen is not None:
        # mostly what is still expected, split between resellable and damaged
        units = []
        for returned in chosen.lines:
            count = (
                second if second == 3 else min(second + 1, returned.quantity - returned.received)
            )
            resellable = count if flag else count // 2
            units.append(ReceivedUnits(returned.order_line_id, resellable, count - resellable))
        order.receive_return(chosen.id, units, "t", NOW)
    elif kind == "refund_return" and chosen is not None:
        method = [RefundMethod.ORIGINAL, RefundMethod.OTHER, None][second]
        order.refund_return(chosen.id, method=order.refund_method(method), reason=None,
                            actor="t", now=NOW)  # fmt: skip
    elif kind == "exchange" and chosen is not None:
        value = order.exchange_value(chosen.id, NOW)
        # all of its value, or part of it (the replacement cost less: the rest is refunded)
        carried = value if flag else Money(max(1, value.minor // (second + 2)), value.currency)
        order.exchange_return(
            chosen.id, carried=carried, replacement_id=uuid.uuid4(), actor="t", now=NOW
        )
    elif kind == "cancel_return" and chosen is not None:
        order.cancel_return(chosen.id, None, "t", NOW)
    elif kind == "approve" and chosen is not None:
        order.approve_return(chosen.id, "t", NOW)
    elif kind in ("fulfil", "lines", "fail", "settle", "cancel"):
        apply(order, operation)


def restocked_by_receipts(order: Order) -> int:
    return sum(
        line.resellable
        for order_return in order.returns
        for line in order_return.lines
        if order.line(line.order_line_id).is_stocked
    )


def check_return_invariants(order: Order, moved: Counter[str]) -> None:
    check_invariants(order)
    for line in order.lines:
        refunded = order.line_refunds(line.id)
        held = order.units_in_returns(line.id)
        assert refunded.quantity + line.cancelled_quantity + held <= line.quantity
        shipped_refunded = refunded.quantity - refunded.unfulfilled_quantity
        assert order.returnable_quantity(line) + held + shipped_refunded >= 0
        assert held + shipped_refunded <= line.fulfilled_quantity
        # no unit comes back twice: returns never receive more than was shipped
        received = sum(
            returned.received
            for order_return in order.returns
            for returned in order_return.lines
            if returned.order_line_id == line.id
        )
        assert received <= line.fulfilled_quantity
    for order_return in order.returns:
        for returned in order_return.lines:
            assert 0 <= returned.received <= returned.quantity
        if order_return.status is ReturnStatus.CLOSED:
            refund = order.refund_by_id(order_return.refund_id)  # type: ignore[arg-type]
            assert refund.breakdown.fees.minor >= 0
            assert refund.amount.minor >= 0
    # the shelf never gets back more than the order took off it
    assert all(units <= 0 for units in moved.values()), moved


def record_moves(order: Order, moved: Counter[str]) -> None:
    for event in order.events:
        if isinstance(event, StockMoved):
            for sku, units in event.moves:
                moved[sku] += units
    order.events.clear()


@settings(max_examples=400, deadline=None)
@given(order=st.one_of(orders(), shipped_orders()), sequence=return_operations)
def test_any_sequence_of_returns_keeps_units_money_and_stock_within_bounds(
    order: Order, sequence: list[tuple[str, int, int, bool]]
) -> None:
    # every unit the order placed left the shelf (its placement's StockMoved)
    moved: Counter[str] = Counter({line.sku: 0 for line in order.lines})
    moved["SKU"] -= sum(line.quantity for line in order.lines if line.is_stocked)
    order.events.clear()
    for operation in sequence:
        before = snapshot(order)
        returns_before = [
            (r.status, tuple((line.resellable, line.damaged) for line in r.lines))
            for r in order.returns
        ]
        try:
            apply_return_operation(order, operation)
        except RefundryError:
            # a refused operation changes nothing at all
            assert snapshot(order) == before
            assert [
                (r.status, tuple((line.resellable, line.damaged) for line in r.lines))
                for r in order.returns
            ] == returns_before
            assert not any(isinstance(event, StockMoved) for event in order.events)
        record_moves(order, moved)
        check_return_invariants(order, moved)
