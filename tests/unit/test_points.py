"""Loyalty points rules: earning, proportional reversal and restoration, shortfalls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundry.domain.errors import InvalidInput
from refundry.domain.events import PointsReversed
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    PaymentMethod,
    RefundRequest,
    place_order,
)
from refundry.domain.points import (
    PointsEntry,
    PointsEntryKind,
    PointsProgram,
    PointsRounding,
    ShortfallPolicy,
    balance,
    points_to_take_back,
    reverse,
)

EUR = Currency.of("EUR")
NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rounding", "paid", "points"),
    [
        (PointsRounding.DOWN, 9962, 99),
        (PointsRounding.HALF_UP, 9962, 100),
        (PointsRounding.HALF_UP, 9949, 99),
        (PointsRounding.HALF_UP, 9950, 100),
        (PointsRounding.UP, 9901, 100),
        (PointsRounding.UP, 9900, 99),
        (PointsRounding.DOWN, 0, 0),
    ],
)
def test_points_earned_follow_the_programs_rounding(
    rounding: PointsRounding, paid: int, points: int
) -> None:
    program = PointsProgram(points_per_unit=1, rounding=rounding)
    assert program.points_earned(Money(paid, EUR)) == points


def test_the_earn_rate_counts_major_units_of_any_currency() -> None:
    program = PointsProgram(points_per_unit=10)
    assert program.points_earned(Money(1250, Currency.of("JPY"))) == 12_500  # no minor unit
    assert program.points_earned(Money(1_234, Currency.of("KWD"))) == 12  # 1.234 KWD


@pytest.mark.parametrize("rate", [-1, 10_001])
def test_an_earn_rate_out_of_range_is_refused(rate: int) -> None:
    with pytest.raises(InvalidInput):
        PointsProgram(points_per_unit=rate)


@given(
    earned=st.integers(0, 1_000_000),
    captured=st.integers(1, 10**9),
    refunds=st.lists(st.integers(1, 10**8), max_size=12),
)
def test_stacked_partial_refunds_never_reverse_more_than_earned_and_a_full_one_reverses_all(
    earned: int, captured: int, refunds: list[int]
) -> None:
    total = Money(captured, EUR)
    refunded = Money.zero(EUR)
    reversed_so_far = 0
    for amount in [*refunds, captured]:  # the last refund gives back whatever is left
        after = min(refunded + Money(amount, EUR), total)
        step = points_to_take_back(earned, total, refunded, after)
        assert step >= 0
        reversed_so_far += step
        assert reversed_so_far <= earned
        refunded = after
    assert refunded == total
    assert reversed_so_far == earned


@given(redeemed=st.integers(0, 10**7), captured=st.integers(1, 10**9), cut=st.integers(0, 10**9))
def test_restoring_a_redeem_order_in_two_refunds_gives_back_exactly_what_was_redeemed(
    redeemed: int, captured: int, cut: int
) -> None:
    total = Money(captured, EUR)
    middle = Money(min(cut, captured), EUR)
    first = points_to_take_back(redeemed, total, Money.zero(EUR), middle)
    second = points_to_take_back(redeemed, total, middle, total)
    assert first + second == redeemed
    assert 0 <= first <= redeemed


def test_a_half_refund_reverses_half_the_points_rounded_by_the_allocator() -> None:
    assert points_to_take_back(99, Money(10_000, EUR), Money.zero(EUR), Money(5_000, EUR)) == 50
    assert points_to_take_back(99, Money(10_000, EUR), Money(5_000, EUR), Money(10_000, EUR)) == 49


@given(owed=st.integers(0, 10_000), current=st.integers(-10_000, 10_000))
def test_a_reversal_either_goes_negative_or_records_the_shortfall(owed: int, current: int) -> None:
    allowed = reverse(owed, current, ShortfallPolicy.ALLOW_NEGATIVE)
    assert (allowed.taken, allowed.shortfall) == (owed, 0)
    recorded = reverse(owed, current, ShortfallPolicy.RECORD_SHORTFALL)
    assert recorded.taken + recorded.shortfall == owed
    assert current - recorded.taken >= min(current, 0)  # never pushes a balance below zero
    assert recorded.taken == min(owed, max(current, 0))


def test_a_balance_is_the_sum_of_its_ledger() -> None:
    entries = [
        PointsEntry(uuid.uuid4(), PointsEntryKind.EARNED, 99, NOW),
        PointsEntry(uuid.uuid4(), PointsEntryKind.REDEEMED, -60, NOW),
        PointsEntry(uuid.uuid4(), PointsEntryKind.REVERSED, -39, NOW, shortfall=10),
        PointsEntry(uuid.uuid4(), PointsEntryKind.ADJUSTED, 5, NOW, note="goodwill"),
    ]
    assert balance(entries) == 5


def test_a_refund_recorded_before_the_capture_takes_its_share_when_points_are_awarded() -> None:
    # given a held order refunded EUR 30 in the provider's dashboard before its capture
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("p@example.com"),
        currency=EUR,
        lines=[NewLine("S", "S", LineKind.PHYSICAL, 1, 13_000)],
        shipping_amount=0,
        shipping_tax=0,
        payment_method=PaymentMethod.CARD,
        capture_mode=CaptureMode.MANUAL,
        authorized=None,
        captured=None,
        now=NOW,
    )
    external = order.record_external_refund(Money(3_000, EUR), "re_1", None, NOW)
    order.capture(None, NOW)
    # when the capture earns 130 points
    order.award_points(130, NOW)
    # then the earlier refund's share is taken at once, on the ledger's events too
    assert (order.points.earned, order.points.reversed) == (130, 30)
    assert external.points_reversed == 30
    assert [e.points for e in order.events if isinstance(e, PointsReversed)] == [30]
    # and a full refund takes exactly the rest
    rest = order.refund(RefundRequest(amount=10_000), method=None, reason=None,
                        created_by="x", now=NOW)  # fmt: skip
    assert rest.points_reversed == 100
    assert order.points.reversible == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 10**15 + 1), ("amount", -1), ("points", 10**12 + 1), ("order", "a\x00b")],
)
def test_a_reconciliation_record_out_of_bounds_is_refused(field: str, value: object) -> None:
    from refundry.domain.reconciliation import ExpectedRecord

    values: dict[str, object] = {"amount": 100, "points": None, "order": "R-1"}
    values[field] = value
    with pytest.raises(InvalidInput):
        ExpectedRecord(
            "tx-1",
            str(values["order"]),
            Money(int(str(values["amount"])), EUR),
            points=None if values["points"] is None else int(str(values["points"])),
        )
