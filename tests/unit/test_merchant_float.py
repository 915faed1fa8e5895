"""The float ledger and invoice periods, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundry.domain.errors import CurrencyMismatch, FloatInsufficient, InvalidAmount
from refundry.domain.merchant_float import (
    FloatAccount,
    FloatEntryKind,
    InvoiceCycle,
    first_period_start,
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
