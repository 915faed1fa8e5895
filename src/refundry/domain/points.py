"""Loyalty points: what an order earns, and what a refund takes back or gives back.

Seed 004: refunding an *earning* order reverses the points it awarded, proportionally on
a partial refund; refunding a *redeem* ("replacing") order gives the redeemed points back.
Points that survive a refund are a known exploit (earn, refund, keep the points), so every
reversal is worked out from cumulative figures, like money: after refunds totalling ``r``
of a capture ``c``, exactly ``cumulative_share(earned, r, c)`` points have been taken
back. Stacked partial refunds therefore never drift, never exceed what was earned, and a
full refund reverses exactly what remains.

Ledger entry kinds (every balance is their sum; ``points`` is signed):

- ``earned``: awarded when an earning order's payment is captured (+).
- ``reversed``: taken back by a refund of an earning order (-).
- ``redeemed``: spent to pay a redeem order (-).
- ``restored``: given back by a refund of a redeem order (+).
- ``adjusted``: a person's correction, with a note (+/-).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from refundry.domain.errors import InvalidInput
from refundry.domain.money import Money, cumulative_share


class PointsRounding(StrEnum):
    """How fractional points earned on an amount are rounded."""

    DOWN = "down"
    HALF_UP = "half_up"
    UP = "up"


class ShortfallPolicy(StrEnum):
    """What a reversal does when the customer has already spent the points."""

    ALLOW_NEGATIVE = "allow_negative"  # take them all back; the balance goes below zero
    RECORD_SHORTFALL = "record_shortfall"  # take back what is left, record the rest


class PointsEntryKind(StrEnum):
    EARNED = "earned"
    REVERSED = "reversed"
    REDEEMED = "redeemed"
    RESTORED = "restored"
    ADJUSTED = "adjusted"


@dataclass(frozen=True, slots=True)
class PointsProgram:
    """A merchant's earn rule: ``points_per_unit`` points per major currency unit paid."""

    points_per_unit: int
    rounding: PointsRounding = PointsRounding.DOWN
    shortfall_policy: ShortfallPolicy = ShortfallPolicy.ALLOW_NEGATIVE

    def __post_init__(self) -> None:
        if type(self.points_per_unit) is not int or not 0 <= self.points_per_unit <= 10_000:
            raise InvalidInput("points_per_unit must be a whole number from 0 to 10000")

    def points_earned(self, paid: Money) -> int:
        """Points for an amount paid, in whole points by the program's rounding rule."""
        if paid.minor < 0:
            raise InvalidInput("points are earned on a positive amount")
        scale: int = 10**paid.currency.exponent
        numerator = paid.minor * self.points_per_unit
        whole, remainder = divmod(numerator, scale)
        if remainder == 0 or self.rounding is PointsRounding.DOWN:
            return whole
        if self.rounding is PointsRounding.UP:
            return whole + 1
        return whole + (1 if 2 * remainder >= scale else 0)


def points_to_take_back(
    points: int, captured: Money, refunded_before: Money, refunded_after: Money
) -> int:
    """The points a refund moves: the share of ``points`` owed to the refunded total after
    it, less the share already moved before it. Used for both reversal (earning orders)
    and restoration (redeem orders); a full refund moves exactly what remains."""
    if not refunded_before <= refunded_after:
        raise ValueError("a refund cannot lower the refunded total")
    whole = captured.minor
    if whole == 0:
        return 0  # nothing captured: nothing was earned on it
    after = min(refunded_after.minor, whole)
    before = min(refunded_before.minor, whole)
    return cumulative_share(points, after, whole) - cumulative_share(points, before, whole)


@dataclass(frozen=True, slots=True)
class PointsEntry:
    id: uuid.UUID
    kind: PointsEntryKind
    points: int  # signed: what the entry does to the balance
    created_at: datetime
    order_id: uuid.UUID | None = None
    refund_id: uuid.UUID | None = None
    shortfall: int = 0  # points a reversal could not take back (record_shortfall)
    note: str | None = None


def balance(entries: Iterable[PointsEntry]) -> int:
    return sum(entry.points for entry in entries)


@dataclass(frozen=True, slots=True)
class Reversal:
    taken: int  # points taken off the balance
    shortfall: int  # points owed but not taken (already spent, policy record_shortfall)


def reverse(owed: int, current_balance: int, policy: ShortfallPolicy) -> Reversal:
    """Take ``owed`` points back from a customer whose balance is ``current_balance``."""
    if owed < 0:
        raise ValueError("a reversal takes back a non-negative number of points")
    if policy is ShortfallPolicy.ALLOW_NEGATIVE:
        return Reversal(owed, 0)
    taken = min(owed, max(current_balance, 0))
    return Reversal(taken, owed - taken)


@dataclass(slots=True)
class OrderPoints:
    """An order's points: what its capture earned and what its checkout redeemed, and how
    many of each its refunds moved back (earned points reversed, redeemed points restored)."""

    earned: int = 0
    reversed: int = 0
    redeemed: int = 0
    restored: int = 0

    def rebalance(
        self, refunded: Money, captured: Money, value_refunded: Money, value: Money
    ) -> PointsMove:
        """Points to move now so that exactly the share of the money paid that was refunded
        as money stands reversed of what was earned (points are earned on money only), and
        the share of the points' ``value`` refunded in points stands restored (negative: to
        undo, after a refund failed)."""
        none = Money.zero(captured.currency)
        money_refunded = refunded - value_refunded
        reversal = (
            points_to_take_back(self.earned, captured - value, none, money_refunded) - self.reversed
        )
        restoral = points_to_take_back(self.redeemed, value, none, value_refunded) - self.restored
        self.reversed += reversal
        self.restored += restoral
        return PointsMove(reversal, restoral)

    @property
    def reversible(self) -> int:
        return self.earned - self.reversed

    @property
    def restorable(self) -> int:
        return self.redeemed - self.restored


@dataclass(frozen=True, slots=True)
class PointsMove:
    reversed: int  # earned points taken back from the customer (negative: given back)
    restored: int  # redeemed points given back to the customer (negative: taken again)


@dataclass(frozen=True, slots=True)
class PointsRedemption:
    """Points a checkout spent to pay ``value`` of a redeem order's total."""

    points: int
    value: Money

    def __post_init__(self) -> None:
        if type(self.points) is not int or self.points <= 0:
            raise InvalidInput("points redeemed must be a positive whole number")
        if self.value.minor <= 0:
            raise InvalidInput("the value paid with points must be positive")
