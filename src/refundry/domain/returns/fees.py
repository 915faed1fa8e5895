"""Fees a merchant keeps from a return: a restocking fee (a percentage of the returned
units' value, for the whole return or per line) and a flat return-shipping fee.

Percentages have at most two decimals and are kept as basis points (12.5% = 1250), so the
fee is an exact share of the value, worked out by the one allocator like every split.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from refundry.domain.errors import InvalidInput
from refundry.domain.money import Money, cumulative_share
from refundry.domain.returns.model import BASIS_POINTS_PER_WHOLE


def basis_points(percent: Decimal | float | str) -> int:
    """``12.5`` -> ``1250``; refuses anything outside 0-100 or finer than 0.01%. A binary
    float a client computed as a multiple of 0.01 (``35 * 0.01`` is 0.35000000000000003)
    is taken as the hundredth it stands for."""
    try:
        value = Decimal(str(percent))
    except InvalidOperation as error:
        raise InvalidInput("a fee percentage must be a number", value=str(percent)) from error
    if not value.is_finite():
        raise InvalidInput("a fee percentage must be a number", value=str(percent))
    scaled = value * 100
    nearest = scaled.to_integral_value()
    if abs(scaled - nearest) > _FLOAT_SLACK:
        raise InvalidInput(
            "a fee percentage has at most two decimals (12.5 or 12.25)", value=str(percent)
        )
    points = int(nearest)
    if not 0 <= points <= BASIS_POINTS_PER_WHOLE:
        raise InvalidInput("a fee percentage lies between 0 and 100", value=str(percent))
    return points


_FLOAT_SLACK = Decimal("0.000001")


def restocking_fee(value: Money, fee_bp: int) -> Money:
    """``fee_bp`` basis points of ``value``."""
    if value.minor <= 0 or fee_bp == 0:
        return Money.zero(value.currency)
    return Money(cumulative_share(value.minor, fee_bp, BASIS_POINTS_PER_WHOLE), value.currency)
