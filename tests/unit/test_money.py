"""Money: integer minor units of a real ISO-4217 currency, and the one allocator.

Everything here is pure domain code: currencies and their exponents, arithmetic that
refuses to mix currencies or touch floats, decimal text in and out, and the properties
every split of money relies on (``allocate`` and ``cumulative_share``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refundry.domain.errors import CurrencyMismatch, InvalidAmount, InvalidInput, UnknownCurrency
from refundry.domain.money import (
    Currency,
    Money,
    allocate,
    cumulative_share,
    known_currency_codes,
)

EUR, JPY, KWD = Currency.of("EUR"), Currency.of("JPY"), Currency.of("KWD")

currencies = st.sampled_from(sorted(known_currency_codes())).map(Currency.of)
# Beyond float precision (2**53) on purpose: any float in a split shows up as lost units.
totals = st.integers(min_value=0, max_value=10**18)
weight_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12)


# ------------------------------------------------------------------ currencies
@pytest.mark.parametrize(
    ("code", "exponent"),
    [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_a_currency_has_its_real_iso_4217_exponent(code: str, exponent: int) -> None:
    # when the currency is looked up by its code
    currency = Currency.of(code)
    # then it carries the code and the number of minor-unit decimals ISO-4217 gives it
    assert currency == Currency(code, exponent)
    assert str(currency) == code


@pytest.mark.parametrize("code", ["XYZ", "eur", "EURO", "", " EUR", "BTC"])
def test_an_unknown_currency_code_is_refused_rather_than_guessed(code: str) -> None:
    # when an unknown (or not exactly spelled) code is looked up
    with pytest.raises(UnknownCurrency) as refused:
        Currency.of(code)
    # then the refusal is bad input with a stable code, naming what was sent
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.code == "unknown-currency"
    assert repr(code) in refused.value.detail


def test_every_known_currency_is_a_three_letter_code_with_a_real_exponent() -> None:
    # given every code the module knows
    codes = known_currency_codes()
    # then each is three capital letters whose exponent is one ISO-4217 uses
    assert {"EUR", "JPY", "KWD"} <= codes
    for code in codes:
        assert len(code) == 3
        assert code.isalpha()
        assert code.isupper()
        assert Currency.of(code).exponent in {0, 2, 3, 4}


# ------------------------------------------------------------ money arithmetic
def test_money_adds_subtracts_negates_and_multiplies_in_its_own_currency() -> None:
    # given two amounts in euros
    price, discount = Money(1290, EUR), Money(258, EUR)
    # then the arithmetic is exact integer arithmetic in minor units, in euros
    assert price + discount == Money(1548, EUR)
    assert price - discount == Money(1032, EUR)
    assert -discount == Money(-258, EUR)
    assert price * 3 == Money(3870, EUR)
    assert Money.zero(EUR) == Money(0, EUR)


def test_money_compares_and_is_truthy_only_when_not_zero() -> None:
    # given a smaller and a larger amount in one currency
    small, large = Money(5, KWD), Money(5000, KWD)
    # then they order by amount, and only zero is falsy
    assert small < large
    assert small <= Money(5, KWD)
    assert large > small
    assert large >= Money(5000, KWD)
    assert Money(5, KWD)
    assert Money(-5, KWD)
    assert not Money.zero(KWD)


@pytest.mark.parametrize(
    "combine",
    [operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge],
)
def test_money_refuses_to_combine_two_currencies(combine: Callable[[Money, Money], Any]) -> None:
    # given euros and yen
    euros, yen = Money(100, EUR), Money(100, JPY)
    # when they are added, subtracted or compared
    with pytest.raises(CurrencyMismatch) as refused:
        combine(euros, yen)
    # then it is refused, naming both currencies, instead of mixing units
    assert refused.value.detail == "cannot combine EUR with JPY"


def test_the_same_number_of_minor_units_in_two_currencies_is_not_equal() -> None:
    # given 100 cents and 100 yen
    # then they are different amounts of money
    assert Money(100, EUR) != Money(100, JPY)


@pytest.mark.parametrize("minor", [1.5, 1.0, Decimal(1), True, "100", None])
def test_money_is_never_made_from_anything_but_an_int(minor: Any) -> None:
    # when money is made from a float, a Decimal, a bool or text
    # then it is refused: only an int of minor units is an amount
    with pytest.raises(InvalidAmount):
        Money(minor, EUR)


@pytest.mark.parametrize("factor", [1.5, 2.0, Decimal(2), True])
def test_money_is_never_multiplied_by_anything_but_an_int(factor: Any) -> None:
    # when money is multiplied by a float, a Decimal or a bool
    # then it is refused rather than rounded
    with pytest.raises(InvalidAmount):
        Money(100, EUR) * factor


@pytest.mark.parametrize("convert", [float, int, complex])
def test_money_does_not_convert_to_a_number(convert: Callable[[Any], Any]) -> None:
    # when money is converted to a float (or any bare number)
    # then there is no conversion to lose the currency or the precision
    with pytest.raises(TypeError):
        convert(Money(1234, EUR))


# --------------------------------------------------------- decimal text in, out
@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", EUR, 1234),
        ("12.3", EUR, 1230),
        ("12.340", EUR, 1234),
        ("12", EUR, 1200),
        (" 0.05 ", EUR, 5),
        ("-0.05", EUR, -5),
        ("1e2", EUR, 10000),
        ("1200", JPY, 1200),
        ("1.234", KWD, 1234),
        ("0.005", KWD, 5),
    ],
)
def test_decimal_text_parses_to_exact_minor_units(
    text: str, currency: Currency, minor: int
) -> None:
    # when major-unit text is parsed in a currency
    parsed = Money.parse(text, currency)
    # then it is that many minor units of that currency
    assert parsed == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.345", EUR),
        ("1.5", JPY),
        ("0.0001", KWD),
        ("abc", EUR),
        ("", EUR),
        ("1,50", EUR),
        ("NaN", EUR),
        ("Infinity", EUR),
        ("-inf", EUR),
    ],
)
def test_text_with_extra_decimals_or_no_number_is_refused(text: str, currency: Currency) -> None:
    # when text that is not an exact amount in the currency is parsed
    # then it is refused rather than rounded
    with pytest.raises(InvalidAmount):
        Money.parse(text, currency)


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1234, EUR), "12.34"),
        (Money(5, EUR), "0.05"),
        (Money(-5, EUR), "-0.05"),
        (Money(0, EUR), "0.00"),
        (Money(1200, JPY), "1200"),
        (Money(-1200, JPY), "-1200"),
        (Money(1234, KWD), "1.234"),
        (Money(5, KWD), "0.005"),
    ],
)
def test_money_formats_with_exactly_its_currencys_decimals(money: Money, text: str) -> None:
    # when money is written as text
    # then it has the currency's own number of decimals, and its code when shown
    assert money.to_decimal_string() == text
    assert str(money) == f"{text} {money.currency.code}"


@given(st.integers(min_value=-(10**18), max_value=10**18), currencies)
def test_formatted_money_parses_back_to_the_same_money(minor: int, currency: Currency) -> None:
    # given any amount in any known currency
    money = Money(minor, currency)
    # when it is written as text and parsed back
    # then nothing is lost
    assert Money.parse(money.to_decimal_string(), currency) == money


# -------------------------------------------------------------------- allocate
@given(totals, weight_lists)
def test_allocated_parts_sum_exactly_to_the_total_and_are_never_negative(
    total: int, weights: list[int]
) -> None:
    # when a non-negative total is split by any weights
    parts = allocate(total, weights)
    # then there is one part per weight, none negative, and no unit is lost or made up
    assert len(parts) == len(weights)
    assert all(part >= 0 for part in parts)
    assert sum(parts) == total


@given(totals, weight_lists)
def test_each_allocated_part_is_within_one_minor_unit_of_its_exact_share(
    total: int, weights: list[int]
) -> None:
    # given the exact (fractional) share of each weight; all-zero weights share evenly
    effective = weights if any(weights) else [1] * len(weights)
    exact = [Fraction(total * weight, sum(effective)) for weight in effective]
    # when the total is allocated
    parts = allocate(total, weights)
    # then every part is less than one minor unit away from its exact share
    # (so an exact share is met exactly, and a zero weight gets nothing)
    assert all(abs(part - share) < 1 for part, share in zip(parts, exact, strict=True))


@given(totals, weight_lists)
def test_allocation_is_deterministic_and_ties_go_to_the_earlier_part(
    total: int, weights: list[int]
) -> None:
    # when the same split is made twice
    first, again = allocate(total, weights), allocate(total, tuple(weights))
    # then it comes out the same, and of two equal weights the earlier never gets less
    assert first == again
    for earlier, later in combinations(range(len(weights)), 2):
        if weights[earlier] == weights[later]:
            assert first[earlier] >= first[later]


@given(totals, weight_lists)
def test_a_negative_total_is_split_as_the_mirror_of_the_positive_one(
    total: int, weights: list[int]
) -> None:
    # when a negative total is allocated
    parts = allocate(-total, weights)
    # then it is the positive split with every sign flipped: it still sums exactly
    assert parts == [-part for part in allocate(total, weights)]
    assert sum(parts) == -total


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (2, [1, 1, 1], [1, 1, 0]),
        (1, [1, 1], [1, 0]),
        (10, [1, 2], [3, 7]),
        (5, [0, 0], [3, 2]),
        (7, [0, 3, 0], [0, 7, 0]),
        (0, [5, 5], [0, 0]),
        (-100, [1, 1, 1], [-34, -33, -33]),
    ],
)
def test_allocate_splits_known_cases_by_largest_remainder(
    total: int, weights: list[int], parts: list[int]
) -> None:
    # when small, hand-checkable splits are made
    # then each matches the largest-remainder result, ties to the earlier part
    assert allocate(total, weights) == parts


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (10, [], "allocate needs at least one weight"),
        (10, [1, -1], "weights must be non-negative ints"),
        (10, [1.0, 1], "weights must be non-negative ints"),
        (10, [True, 1], "weights must be non-negative ints"),
        (10.0, [1, 1], "total must be an int"),
    ],
)
def test_allocate_refuses_no_weights_negative_weights_and_non_int_numbers(
    total: Any, weights: list[Any], message: str
) -> None:
    # when the split has no weights, a negative one, or a float or bool anywhere
    # then it is refused rather than guessed
    with pytest.raises(ValueError, match=message):
        allocate(total, weights)


@given(st.integers(min_value=-(10**15), max_value=10**15), currencies, weight_lists)
def test_money_allocates_into_parts_of_its_own_currency_that_sum_to_it(
    minor: int, currency: Currency, weights: list[int]
) -> None:
    # given an amount of money
    money = Money(minor, currency)
    # when it is allocated
    parts = money.allocate(weights)
    # then every part is in its currency and together they are the whole amount
    assert all(part.currency == currency for part in parts)
    assert sum(parts, Money.zero(currency)) == money
    assert [part.minor for part in parts] == allocate(minor, weights)


# ------------------------------------------------------------ cumulative_share
wholes = st.integers(min_value=1, max_value=10**6)


@given(totals, wholes)
def test_the_cumulative_share_is_nothing_of_nothing_and_all_of_the_whole(
    total: int, whole: int
) -> None:
    # when the share of no units and of every unit is taken
    # then they are exactly zero and exactly the total
    assert cumulative_share(total, 0, whole) == 0
    assert cumulative_share(total, whole, whole) == total


@given(totals, wholes, st.data())
def test_the_cumulative_share_never_decreases_and_stays_within_a_unit_of_exact(
    total: int, whole: int, data: st.DataObject
) -> None:
    # given two numbers of units, one no larger than the other
    smaller = data.draw(st.integers(min_value=0, max_value=whole), label="smaller")
    larger = data.draw(st.integers(min_value=smaller, max_value=whole), label="larger")
    # when their shares are taken
    small_share = cumulative_share(total, smaller, whole)
    large_share = cumulative_share(total, larger, whole)
    # then more units never owe less, and each share is within one unit of exact
    assert small_share <= large_share
    assert abs(small_share - Fraction(total * smaller, whole)) < 1
    assert abs(large_share - Fraction(total * larger, whole)) < 1


@given(totals, st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20))
def test_stacked_partial_shares_add_up_to_exactly_the_total(total: int, steps: list[int]) -> None:
    # given a whole taken in steps (partial refunds, one after another)
    whole = sum(steps)
    taken, done = [], 0
    for step in steps:
        # when each step takes its cumulative share less what was taken before
        taken.append(cumulative_share(total, done + step, whole) - sum(taken))
        done += step
    # then no step is negative and together they are the total, to the unit
    assert all(amount >= 0 for amount in taken)
    assert sum(taken) == (total if whole else 0)


@pytest.mark.parametrize(("part", "whole"), [(-1, 10), (11, 10), (1, 0)])
def test_the_cumulative_share_of_a_part_outside_the_whole_is_refused(part: int, whole: int) -> None:
    # when the part is below zero or above the whole
    # then it is refused
    with pytest.raises(ValueError, match="part must lie between 0 and whole"):
        cumulative_share(100, part, whole)


def test_the_cumulative_share_of_an_empty_whole_is_zero() -> None:
    # given a whole of zero units
    # then there is nothing to share
    assert cumulative_share(100, 0, 0) == 0
