"""Loyalty points use cases: the merchant's program, customers' ledgers, and the ledger
entries an order's changes make, written in the same transaction as the change.

The order works out *how many* points a refund takes back (see ``domain/points.py``);
this module records them against the customer's balance under the account's row lock,
applying the merchant's shortfall policy when the customer has already spent them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from refundry.domain.errors import InsufficientPoints, PointsProgramNotFound
from refundry.domain.events import (
    DomainEvent,
    PointsAwarded,
    PointsRedeemed,
    PointsRestored,
    PointsReversed,
)
from refundry.domain.order import Order
from refundry.domain.points import (
    PointsEntry,
    PointsEntryKind,
    PointsProgram,
    Reversal,
    ShortfallPolicy,
    reverse,
)
from refundry.services.clock import utcnow
from refundry.services.ports.points import PointsRepository


class _PointsUnitOfWork(Protocol):
    @property
    def points(self) -> PointsRepository: ...


def customer_key(order: Order) -> str:
    """Whose points: the checkout's customer id, else the email (case folded)."""
    return order.customer.external_id or order.customer.email.casefold()


def award_points(uow: _PointsUnitOfWork, order: Order, now: datetime) -> None:
    """An earning order's capture earns points by the merchant's program, if it has one:
    on the money paid, never on the part paid with points."""
    program = uow.points.program(order.merchant_id)
    if program is not None:
        order.award_points(program.points_earned(order.payment.money_captured), now)


def redeem_points(uow: _PointsUnitOfWork, order: Order, now: datetime) -> None:
    """A redeem order spends its customer's points; the account stays locked until the
    commit writes the entry, so two checkouts cannot spend the same points."""
    redemption = order.payment.redemption
    if redemption is None:
        return
    customer = customer_key(order)
    uow.points.lock_account(order.merchant_id, customer, now)
    available = uow.points.balance(order.merchant_id, customer)
    if available < redemption.points:
        raise InsufficientPoints(
            f"the customer has {available} points; the order redeems {redemption.points}",
            balance=available,
            redeemed=redemption.points,
        )
    order.redeem_points(now)


def record_points(
    uow: _PointsUnitOfWork, recorded: Iterable[tuple[Order, DomainEvent]], now: datetime
) -> None:
    """Write the ledger entries of this change's points events (the message bus's handler
    for them, run before the commit)."""
    for order, event in recorded:
        if not isinstance(event, PointsAwarded | PointsReversed | PointsRedeemed | PointsRestored):
            continue
        customer = customer_key(order)
        uow.points.lock_account(order.merchant_id, customer, now)
        entry = _entry(uow, order, customer, event, now)
        if entry.points or entry.shortfall:
            uow.points.add(order.merchant_id, customer, entry)


def _entry(
    uow: _PointsUnitOfWork,
    order: Order,
    customer: str,
    event: PointsAwarded | PointsReversed | PointsRedeemed | PointsRestored,
    now: datetime,
) -> PointsEntry:
    match event:
        case PointsAwarded(points=points):
            return PointsEntry(uuid.uuid4(), PointsEntryKind.EARNED, points, now, order_id=order.id)
        case PointsRedeemed(points=points):
            return PointsEntry(
                uuid.uuid4(), PointsEntryKind.REDEEMED, -points, now, order_id=order.id
            )
        case PointsRestored(refund_id=refund_id, points=points) if points > 0:
            # Never more than the order redeemed: a restoration taken again only in part
            # (the customer had spent it; a shortfall) must not be given back whole twice.
            restored = uow.points.restored_for_order(order.merchant_id, order.id)
            return PointsEntry(
                uuid.uuid4(),
                PointsEntryKind.RESTORED,
                max(0, min(points, order.points.redeemed - restored)),
                now,
                order_id=order.id,
                refund_id=refund_id,
            )
        case PointsRestored(refund_id=refund_id, points=points):
            reversal = _take_back(uow, order, customer, -points)
            # A negative restoration, not an adjustment: ``taken_for_order`` counts the
            # reversals of earned points only.
            return PointsEntry(
                uuid.uuid4(),
                PointsEntryKind.RESTORED,
                -reversal.taken,
                now,
                order_id=order.id,
                refund_id=refund_id,
                shortfall=reversal.shortfall,
                note="the refund failed: the points it restored are taken again",
            )
        case PointsReversed(refund_id=refund_id, points=owed) if owed > 0:
            reversal = _take_back(uow, order, customer, owed)
            return PointsEntry(
                uuid.uuid4(),
                PointsEntryKind.REVERSED,
                -reversal.taken,
                now,
                order_id=order.id,
                refund_id=refund_id,
                shortfall=reversal.shortfall,
            )
        case PointsReversed(refund_id=refund_id, points=given_back):
            # A refund failed. Give back what the ledger took for this order beyond what
            # the order still keeps reversed: never more (a shortfall was never taken).
            taken = uow.points.taken_for_order(order.merchant_id, order.id)
            back = max(0, min(-given_back, taken - order.points.reversed))
            return PointsEntry(
                uuid.uuid4(),
                PointsEntryKind.ADJUSTED,
                back,
                now,
                order_id=order.id,
                refund_id=refund_id,
                note="the refund failed: its points reversal is undone",
            )


def _take_back(uow: _PointsUnitOfWork, order: Order, customer: str, owed: int) -> Reversal:
    """Take ``owed`` points off the customer's balance, as the merchant's policy says when
    they have already spent them."""
    program = uow.points.program(order.merchant_id)
    policy = program.shortfall_policy if program else ShortfallPolicy.ALLOW_NEGATIVE
    return reverse(owed, uow.points.balance(order.merchant_id, customer), policy)


def set_program(
    uow: _PointsUnitOfWork, merchant_id: uuid.UUID, program: PointsProgram
) -> PointsProgram:
    uow.points.set_program(merchant_id, program, utcnow())
    return program


def get_program(uow: _PointsUnitOfWork, merchant_id: uuid.UUID) -> PointsProgram:
    program = uow.points.program(merchant_id)
    if program is None:
        raise PointsProgramNotFound(
            "this merchant has no points program yet: PUT /v1/points-program"
        )
    return program
