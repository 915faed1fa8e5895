"""Money as integer minor units of an ISO-4217 currency, and the one allocator.

Every amount in Refundry is an ``int`` of minor units (cents, yen, fils) tied to a
currency whose exponent is the real ISO-4217 one. There is no float anywhere near
money: user input is parsed from decimal text and extra precision is rejected.

``allocate`` is the single way to split an amount in proportion to weights. It uses
the largest-remainder method, so the parts always sum exactly to the whole, and ties
go to the earlier part, so the split is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from refundry.domain.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency

# ISO-4217 active codes with a minor-unit exponent other than 2, and the common
# two-decimal ones. Codes absent here are rejected rather than guessed.
_EXPONENT_0 = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_EXPONENT_3 = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
_EXPONENT_4 = ["CLF", "UYW"]
_EXPONENT_2 = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]

_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2, 2),
    **dict.fromkeys(_EXPONENT_0, 0),
    **dict.fromkeys(_EXPONENT_3, 3),
    **dict.fromkeys(_EXPONENT_4, 4),
}


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        """The currency for an ISO-4217 code; raises ``UnknownCurrency`` otherwise."""
        exponent = _EXPONENTS.get(code)
        if exponent is None:
            raise UnknownCurrency(code)
        return cls(code, exponent)

    def __str__(self) -> str:
        return self.code


def known_currency_codes() -> frozenset[str]:
    return frozenset(_EXPONENTS)


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units of one currency. Frozen; never converts to float."""

    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        # bool is an int subclass; True cents is a bug, not an amount.
        if type(self.minor) is not int:
            raise InvalidAmount(f"minor units must be an int, got {type(self.minor).__name__}")

    @classmethod
    def zero(cls, currency: Currency) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: Currency) -> Money:
        """Parse decimal text in major units ("12.34" EUR -> 1234), rejecting extra precision."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation as error:
            raise InvalidAmount(f"{text!r} is not a decimal amount") from error
        if not value.is_finite():
            raise InvalidAmount(f"{text!r} is not a finite amount")
        scaled = value.scaleb(currency.exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(
                f"{text!r} has more than {currency.exponent} decimals for {currency.code}"
            )
        return cls(int(scaled), currency)

    def to_decimal_string(self) -> str:
        """Major units as text with exactly the currency's decimals ("-0.05", "1200")."""
        exponent = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        digits = str(abs(self.minor)).rjust(exponent + 1, "0")
        if exponent == 0:
            return sign + digits
        return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency.code, other.currency.code)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise InvalidAmount("money can only be multiplied by an int")
        return Money(self.minor * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        return [Money(part, self.currency) for part in allocate(self.minor, weights)]

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency.code}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by largest remainder.

    The parts always sum to ``total``; each part is within one unit of its exact
    share; ties in the remainder go to the earlier weight. All-zero weights split
    evenly. A negative total is split as the mirror of its absolute value, so
    ``allocate(-t, w) == [-p for p in allocate(t, w)]``.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(type(weight) is not int or weight < 0 for weight in weights):
        raise ValueError("weights must be non-negative ints")
    if type(total) is not int:
        raise ValueError("total must be an int")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    floors = [total * weight // weight_sum for weight in weights]
    remainders = [total * weight % weight_sum for weight in weights]
    leftover = total - sum(floors)
    # Stable sort keeps the earlier index first among equal remainders.
    order = sorted(range(len(weights)), key=lambda index: -remainders[index])
    for index in order[:leftover]:
        floors[index] += 1
    return floors


def cumulative_share(total: int, part: int, whole: int) -> int:
    """The share of ``total`` owed to the first ``part`` of ``whole`` units.

    Built on ``allocate`` so that it is exact at both ends (0 -> 0, whole -> total)
    and never decreases as ``part`` grows. Refunds take ``share(after) - already
    taken``, so stacked partial refunds always sum to the whole: no cent drifts.
    """
    if not 0 <= part <= whole:
        raise ValueError("part must lie between 0 and whole")
    if whole == 0:
        return 0
    return allocate(total, [part, whole - part])[0]
