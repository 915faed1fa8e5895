"""The order's share of loyalty points: what a capture awards, what a checkout redeems, and
how each refund keeps exactly its share of them reversed or restored.

The arithmetic lives in ``refundry.domain.points`` (``OrderPoints.rebalance``); here it
meets the order's ledger: which refund a move is charged to, and the events it records.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from refundry.domain.errors import InvalidInput
from refundry.domain.events import PointsAwarded, PointsRedeemed, PointsRestored, PointsReversed
from refundry.domain.money import Money, cumulative_share
from refundry.domain.order.root import OrderRoot
from refundry.domain.points import PointsMove
from refundry.domain.refund import Refund


def award_points(order: OrderRoot, points: int, now: datetime) -> None:
    """The points an earning order's captured payment earns; awarded once."""
    if points < 0:
        raise InvalidInput("points awarded cannot be negative")
    if order.points.earned or not points or order.payment.captured.minor == 0:
        return
    order.points.earned = points
    order.events.append(PointsAwarded(order.id, points))
    # Refunds recorded before the capture (one made in the provider's dashboard, say)
    # take their share at once, charged to the latest of them.
    counting = [refund for refund in order.refunds if refund.counts_against_cap]
    rebalance_points(order, counting[-1] if counting else None)
    order._touch(now)


def redeem_points(order: OrderRoot, now: datetime) -> None:
    """A redeem order's checkout spends its points (recorded once, at placement)."""
    redemption = order.payment.redemption
    if redemption is None or order.points.redeemed:
        return
    order.points.redeemed = redemption.points
    order.events.append(PointsRedeemed(order.id, redemption.points))
    order._touch(now)


def preview_points(order: OrderRoot, amount: Money) -> tuple[Money | None, PointsMove]:
    """What a refund of ``amount`` would give back in points' value, and the points
    it would reverse and restore; nothing changes."""
    value_share = points_value_share(order, amount)
    trial = replace(order.points)
    move = trial.rebalance(
        order.refunded + amount,
        order.payment.captured,
        order.points_value_refunded + (value_share or Money.zero(order.currency)),
        order.payment.points_value,
    )
    return value_share, move


def points_value_share(order: OrderRoot, amount: Money) -> Money | None:
    """For a redeem order, the part of a new refund of ``amount`` given back in points:
    what brings the points' refunded value to its cumulative share of the refunded
    total, so that a full refund gives back exactly the points' value and exactly the
    money paid, whatever refunds failed on the way."""
    value = order.payment.points_value
    if value.minor == 0:
        return None
    captured = order.payment.captured.minor
    refunded_after = min(order.refunded.minor + amount.minor, captured)
    already = order.points_value_refunded.minor
    money_left = order.payment.money_captured.minor - (order.refunded.minor - already)
    target = cumulative_share(value.minor, refunded_after, captured) - already
    share = min(max(target, amount.minor - money_left, 0), amount.minor, value.minor - already)
    return Money(max(share, 0), order.currency)


def rebalance_points(order: OrderRoot, refund: Refund | None) -> None:
    """Keep exactly the refunded share of the earned points reversed and of the
    redeemed points restored, charged to (or undone through) ``refund``."""
    move = order.points.rebalance(
        order.refunded,
        order.payment.captured,
        order.points_value_refunded,
        order.payment.points_value,
    )
    if refund is None:
        return
    if move.reversed:
        refund.points_reversed += move.reversed
        order.events.append(PointsReversed(order.id, refund.id, move.reversed))
    if move.restored:
        refund.points_restored += move.restored
        order.events.append(PointsRestored(order.id, refund.id, move.restored))
