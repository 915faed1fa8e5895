"""The float ledger and invoice periods, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundry.domain.errors import CurrencyMismatch, FloatInsufficient, InvalidAmount
from refundry.domain.merchant_float import (
    FloatAccount,
    FloatEntryKind,
    InvoiceCycle,
    first_period_start,
    next_boundary,
    period_end,
)
from refundry.domain.money import Currency, Money

EUR = Currency.of("EUR")
NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)


def an_account(balance: int = 0) -> FloatAccount:
    return FloatAccount(uuid.uuid4(), EUR, InvoiceCycle.MONTHLY, NOW, Money(balance, EUR))


def test_a_charge_the_float_cannot_cover_is_refused() -> None:
    account = an_account(balance=1000)
    with pytest.raises(FloatInsufficient):
        account.charge(Money(1001, EUR), uuid.uuid4(), NOW)
    assert account.balance == Money(1000, EUR)
    assert account.new_entries == []


def test_entries_are_signed_and_move_the_balance() -> None:
    account = an_account()
    account.top_up(Money(5000, EUR), NOW)
    account.charge(Money(1200, EUR), uuid.uuid4(), NOW)
    account.credit(
        Money(300, EUR),
        order_id=uuid.uuid4(),
        refund_id=uuid.uuid4(),
        invoice_id=uuid.uuid4(),
        now=NOW,
    )
    assert [(e.kind, e.amount.minor) for e in account.new_entries] == [
        (FloatEntryKind.TOP_UP, 5000),
        (FloatEntryKind.ORDER_CHARGE, -1200),
        (FloatEntryKind.CREDIT, 300),
    ]
    assert account.balance == Money(4100, EUR)


def test_the_float_keeps_one_currency() -> None:
    with pytest.raises(CurrencyMismatch):
        an_account().top_up(Money(100, Currency.of("USD")), NOW)
    with pytest.raises(InvalidAmount):
        an_account().top_up(Money(0, EUR), NOW)


@pytest.mark.parametrize(
    ("cycle", "start", "end"),
    [
        (
            InvoiceCycle.DAILY,
            datetime(2026, 11, 23, tzinfo=UTC),
            datetime(2026, 11, 24, tzinfo=UTC),
        ),
        (
            InvoiceCycle.WEEKLY,
            datetime(2026, 11, 23, tzinfo=UTC),
            datetime(2026, 11, 30, tzinfo=UTC),
        ),
        (
            InvoiceCycle.MONTHLY,
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
        ),
    ],
)
def test_cycles_align_to_calendar_boundaries(
    cycle: InvoiceCycle, start: datetime, end: datetime
) -> None:
    assert first_period_start(NOW, cycle) == start
    assert period_end(start, cycle) == end


def test_december_rolls_into_january() -> None:
    december = datetime(2026, 12, 1, tzinfo=UTC)
    assert period_end(december, InvoiceCycle.MONTHLY) == datetime(2027, 1, 1, tzinfo=UTC)


@given(
    st.lists(
        st.tuples(st.sampled_from(["top_up", "charge", "credit"]), st.integers(1, 10**9)),
        max_size=40,
    )
)
def test_balance_is_top_ups_minus_charges_plus_credits(
    operations: list[tuple[str, int]],
) -> None:
    # given any sequence of top-ups, charges (refused when uncovered) and credits
    account = an_account()
    top_ups = charges = credits = 0
    for kind, amount in operations:
        money = Money(amount, EUR)
        if kind == "top_up":
            account.top_up(money, NOW)
            top_ups += amount
        elif kind == "charge":
            try:
                account.charge(money, uuid.uuid4(), NOW)
                charges += amount
            except FloatInsufficient:
                pass
        else:
            account.credit(
                money,
                order_id=uuid.uuid4(),
                refund_id=uuid.uuid4(),
                invoice_id=uuid.uuid4(),
                now=NOW,
            )
            credits += amount
        # then after every step the balance is the ledger and never negative
        assert account.balance.minor == top_ups - charges + credits
        assert account.balance.minor == sum(entry.amount.minor for entry in account.new_entries)
        assert account.balance.minor >= 0


# ------------------------------------------------------------ a change of invoice cycle
DAILY, WEEKLY, MONTHLY = InvoiceCycle.DAILY, InvoiceCycle.WEEKLY, InvoiceCycle.MONTHLY


def day(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def cycles(account: FloatAccount, start: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The ``count`` invoice cycles from ``start`` (a cycle's start), as closes would find them."""
    periods = []
    for _ in range(count):
        end = account.cycle_end(start)
        periods.append((start, end))
        start = end
    return periods


def opened(cycle: InvoiceCycle, at: datetime) -> FloatAccount:
    return FloatAccount(uuid.uuid4(), EUR, cycle, at, Money.zero(EUR))


def test_monthly_to_daily_keeps_the_month_and_then_closes_daily() -> None:
    # given a monthly float opened on November 2, its November cycle open
    account = opened(MONTHLY, day(11, 2) + timedelta(hours=9))
    assert account.first_cycle_start() == day(11, 1)
    # when it switches to daily on November 10
    account.change_cycle(DAILY, open_start=day(11, 1))
    # then November stays one cycle, and days follow
    assert account.first_cycle_start() == day(11, 1)
    assert cycles(account, day(11, 1), 3) == [
        (day(11, 1), day(12, 1)),
        (day(12, 1), day(12, 2)),
        (day(12, 2), day(12, 3)),
    ]
    assert account.invoice_cycle is DAILY


def test_daily_to_monthly_keeps_the_day_and_then_runs_to_the_first_of_the_month() -> None:
    # given a daily float whose open cycle is November 23
    account = opened(DAILY, day(11, 2))
    # when it switches to monthly
    account.change_cycle(MONTHLY, open_start=day(11, 23))
    # then the day keeps its length, the next cycle ends on the 1st, whole months follow
    assert cycles(account, day(11, 23), 3) == [
        (day(11, 23), day(11, 24)),
        (day(11, 24), day(12, 1)),
        (day(12, 1), day(1, 1, 2027)),
    ]


def test_daily_to_weekly_runs_to_the_next_monday() -> None:
    account = opened(DAILY, day(11, 2))
    account.change_cycle(WEEKLY, open_start=day(11, 24))  # a Tuesday
    assert cycles(account, day(11, 24), 3) == [
        (day(11, 24), day(11, 25)),
        (day(11, 25), day(11, 30)),
        (day(11, 30), day(12, 7)),
    ]


def test_a_second_change_in_the_same_cycle_replaces_the_first() -> None:
    account = opened(MONTHLY, day(11, 2))
    account.change_cycle(DAILY, open_start=day(11, 1))
    account.change_cycle(WEEKLY, open_start=day(11, 1))
    assert cycles(account, day(11, 1), 3) == [
        (day(11, 1), day(12, 1)),
        (day(12, 1), day(12, 7)),  # December 1st is a Tuesday
        (day(12, 7), day(12, 14)),
    ]


def test_changing_back_before_the_change_applies_leaves_no_trace() -> None:
    account = opened(MONTHLY, day(11, 2))
    account.change_cycle(DAILY, open_start=day(11, 1))
    account.change_cycle(MONTHLY, open_start=day(11, 1))
    assert (account.invoice_cycle, account.previous_cycle, account.cycle_from) == (
        MONTHLY,
        None,
        None,
    )
    assert cycles(account, day(11, 1), 2) == [
        (day(11, 1), day(12, 1)),
        (day(12, 1), day(1, 1, 2027)),
    ]


def test_a_change_after_an_applied_change_starts_from_the_open_cycle() -> None:
    # given monthly, then daily from December 1
    account = opened(MONTHLY, day(11, 2))
    account.change_cycle(DAILY, open_start=day(11, 1))
    # when, on December 3 (November and two days closed), it goes weekly
    account.change_cycle(WEEKLY, open_start=day(12, 3))
    # then December 3 stays a day, and the next week runs to Monday December 7
    assert cycles(account, day(12, 3), 3) == [
        (day(12, 3), day(12, 4)),
        (day(12, 4), day(12, 7)),
        (day(12, 7), day(12, 14)),
    ]


def test_the_next_boundary_is_strictly_after() -> None:
    assert next_boundary(day(11, 24), MONTHLY) == day(12, 1)
    assert next_boundary(day(12, 1), MONTHLY) == day(1, 1, 2027)
    assert next_boundary(day(11, 23) + timedelta(hours=5), DAILY) == day(11, 24)
    assert next_boundary(day(11, 25), WEEKLY) == day(11, 30)


@given(
    first=st.sampled_from(list(InvoiceCycle)),
    opened_after=st.integers(0, 60 * 24 * 400),
    changes=st.lists(
        st.tuples(st.integers(0, 24 * 70), st.sampled_from(list(InvoiceCycle))), max_size=8
    ),
)
def test_a_change_of_cycle_never_moves_a_cycle_that_has_started(
    first: InvoiceCycle, opened_after: int, changes: list[tuple[int, InvoiceCycle]]
) -> None:
    # given a float, and changes of cycle at any times, with the ended cycles closed
    # before each change (as the service does)
    now = day(1, 1) + timedelta(minutes=opened_after)
    account = opened(first, now)
    start = account.first_cycle_start()
    assert start <= now < account.cycle_end(start)
    for hours, cycle in changes:
        now += timedelta(hours=hours)
        while account.cycle_end(start) <= now:
            start = account.cycle_end(start)
        open_end = account.cycle_end(start)
        # when the cycle changes
        account.change_cycle(cycle, open_start=start)
        # then the open cycle keeps its end, the next runs to the new cycle's next
        # calendar boundary, and whole cycles of the new length follow
        assert account.cycle_end(start) == open_end
        following = cycles(account, open_end, 3)
        assert following[0][1] == next_boundary(open_end, cycle)
        for later_start, later_end in following[1:]:
            assert first_period_start(later_start, cycle) == later_start
            assert later_end == period_end(later_start, cycle)
