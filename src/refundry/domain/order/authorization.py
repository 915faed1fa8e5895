"""The order's commands on its payment, bound as methods on ``Order``: authorize, capture,
and the provider's answers about a hold being voided or about to lapse."""

from __future__ import annotations

from datetime import datetime, timedelta

from refundry.domain.errors import InvalidOrder, OrderNotCapturable
from refundry.domain.events import AuthorizationVoidRequested
from refundry.domain.money import Money
from refundry.domain.order.payment import AuthorizationState
from refundry.domain.order.root import OrderRoot
from refundry.domain.status import OrderStatus


def authorize(
    order: OrderRoot, amount: Money | None, now: datetime, validity: timedelta | None = None
) -> None:
    """Hold money on the customer's account; ``validity`` is how long the hold lasts."""
    if order.status is not OrderStatus.PENDING:
        raise OrderNotCapturable(f"order is {order.status}; only a pending order is authorized")
    money_part = order.total - order.payment.settled_at_checkout
    amount = money_part if amount is None else amount
    if not 0 < amount.minor <= money_part.minor:
        raise InvalidOrder(
            "authorized amount must be positive and at most the order total (less what store "
            "credit paid at checkout)",
            money_part=money_part.minor,
        )
    order.payment.hold(amount, now, validity)
    order._move_to(OrderStatus.AUTHORIZED, now)


def capture(order: OrderRoot, amount: Money | None, now: datetime) -> None:
    if order.status is not OrderStatus.AUTHORIZED:
        raise OrderNotCapturable(
            f"order is {order.status}; only an authorized order can be captured"
        )
    # Units cancelled while the money was only held are sold no more: the capture takes at
    # most what the live units and the shipping are worth. (A full capture took them too,
    # and their money stayed captured on the order once its last item was cancelled.)
    order.payment.take(amount, now, at_most=order.live_total)
    for line in order.lines:
        # What the capture sold: every unit cancelled so far was cancelled while the money
        # was only held (the reports leave them out; cancelled_quantity may grow later).
        line.voided_quantity = line.cancelled_quantity
    order._move_to(OrderStatus.PAID, now)
    if order.refunded.minor:
        # An item cancel gave back part of what the checkout settled before the money
        # part came: the ledger, not the capture, says how refunded the order is.
        order._move_to(order.status_from_ledger(), now)


def request_void(order: OrderRoot) -> bool:
    """A stopped order's live hold must be released at the provider: mark it and say so.
    ``True`` when there was a hold to release (money never left the customer)."""
    if order.payment.authorization_state is not AuthorizationState.ACTIVE:
        return False
    order.payment.authorization_state = AuthorizationState.VOID_PENDING
    order.events.append(AuthorizationVoidRequested(order.id))
    return True


def authorization_void_refused(order: OrderRoot, now: datetime) -> None:
    if order.payment.end_void(AuthorizationState.VOID_FAILED, now):
        order._touch(now)


def flag_lapsing_authorization(order: OrderRoot, now: datetime) -> None:
    if order.payment.flag_lapsing(now):
        order._touch(now)


def authorization_voided(order: OrderRoot, now: datetime) -> None:
    if order.payment.end_void(AuthorizationState.VOIDED, now):
        order._touch(now)
