"""Use cases that bring an order in and move its payment and fulfilment forward."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from refundry.domain.errors import LinkNotFound
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    AUTHORIZATION_VALIDITY,
    CaptureMode,
    Customer,
    NewLine,
    Order,
    PaymentMethod,
    place_order,
)
from refundry.domain.status import OrderStatus
from refundry.services.clock import utcnow
from refundry.services.handlers import merchant_float, points, store_credit
from refundry.services.ports.payment_providers import ProviderRegistry
from refundry.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    merchant_id: uuid.UUID
    external_id: str | None
    customer: Customer
    currency_code: str
    lines: Sequence[NewLine]
    shipping_amount: int = 0
    shipping_tax: int = 0
    payment_method: PaymentMethod = PaymentMethod.CARD
    capture_mode: CaptureMode | None = None  # None: as the merchant's toggle says
    authorized: int | None = None
    captured: int | None = None
    payment_reference: str | None = None  # the provider's payment id, from the checkout
    points_redeemed: int | None = None  # a redeem order: points spent at checkout
    points_value: int | None = None  # what they paid of the total (all of it for ``points``)
    store_credit: int | None = None  # what the customer's store credit paid of the total
    actor: str = "system"  # who placed it (told to webhook receivers of store credit spent)
    # How long a hold lasts, by payment method (a deployment may change the defaults).
    authorization_validity: Mapping[PaymentMethod, timedelta] = field(
        default_factory=lambda: dict(AUTHORIZATION_VALIDITY)
    )


def ingest_order(uow: UnitOfWork, command: PlaceOrder) -> Order:
    """Record an order as the checkout placed it; its units leave the shelf."""
    now = utcnow()
    order = build_order(uow, command, now)
    admit_order(uow, order, command.actor, now)
    return order


def build_order(uow: UnitOfWork, command: PlaceOrder, now: datetime) -> Order:
    """The order the checkout reports, validated; nothing recorded yet."""
    return place_order(
        merchant_id=command.merchant_id,
        external_id=command.external_id,
        customer=command.customer,
        currency=Currency.of(command.currency_code),
        lines=command.lines,
        shipping_amount=command.shipping_amount,
        shipping_tax=command.shipping_tax,
        payment_method=command.payment_method,
        capture_mode=command.capture_mode or _default_capture_mode(uow, command),
        authorized=command.authorized,
        captured=command.captured,
        now=now,
        payment_reference=command.payment_reference,
        authorization_validity=command.authorization_validity.get(command.payment_method),
        points_redeemed=command.points_redeemed,
        points_value=command.points_value,
        store_credit=command.store_credit,
    )


def admit_order(uow: UnitOfWork, order: Order, actor: str, now: datetime) -> None:
    """Record a built order: what it spends (float, points, store credit) is taken, what it
    earns is awarded, and it is added."""
    if order.payment.method is PaymentMethod.FLOAT:
        merchant_float.charge_order(uow, order)
    points.redeem_points(uow, order, now)
    store_credit.spend_at_checkout(uow, order, actor, now)
    points.award_points(uow, order, now)
    uow.orders.add(order)  # placement recorded its units leaving the shelf (StockMoved)


def authorize_order(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int | None,
    authorization_validity: Mapping[PaymentMethod, timedelta] = AUTHORIZATION_VALIDITY,
) -> Order:
    order = uow.orders.get(merchant_id, order_id)
    order.authorize(
        None if amount is None else Money(amount, order.currency),
        utcnow(),
        authorization_validity.get(order.payment.method),
    )
    return order


def capture_order(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int | None,
    providers: ProviderRegistry | None = None,
) -> Order:
    """Capture the held money. A hold at a provider is captured there first, under the
    order's lock, with ``capture-<order id>`` as the idempotency key: a retry after a
    crash captures once, and a refused or unanswered capture writes nothing here.

    The call holds the order's lock for at most the provider's timeout; captures are
    rare next to refunds, and an order marked paid that was never captured at the
    provider would fail every refund after it.
    """
    order = uow.orders.get(merchant_id, order_id)
    now = utcnow()
    requested = None if amount is None else Money(amount, order.currency)
    order.capture(requested, now)  # checks state, amount and lapse before any call
    reference = order.payment.reference
    provider = providers.for_order(order) if providers and reference else None
    if provider is not None and reference is not None:
        provider.capture(
            reference,
            # The money part only: store credit the checkout spent is not at the provider
            # (an exchange's replacement that waited for its difference).
            order.payment.money_captured,
            idempotency_key=f"capture-{order.id}",
        )
    points.award_points(uow, order, now)
    return order


def fulfil_order(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    quantities: Mapping[uuid.UUID, int] | None,
    providers: ProviderRegistry | None = None,
) -> Order:
    """Ship units. A held payment is captured first, in full: goods leave only once
    they are paid for, and a refused capture ships nothing."""
    order = uow.orders.get(merchant_id, order_id)
    if order.status is OrderStatus.AUTHORIZED and order.payment.capture_mode is CaptureMode.MANUAL:
        # Checked before the capture: a rollback here cannot undo a capture at the provider.
        order.check_fulfilment(quantities)
        capture_order(uow, merchant_id, order_id, None, providers)
    order.fulfil(quantities, utcnow())
    return order


def _default_capture_mode(uow: UnitOfWork, command: PlaceOrder) -> CaptureMode:
    """The merchant's toggle; points are spent at checkout, so a redeem order is settled
    there whatever the toggle says; so is an order paid with store credit."""
    if command.points_redeemed is not None or command.payment_method is PaymentMethod.POINTS:
        return CaptureMode.AUTOMATIC
    if command.store_credit is not None or command.payment_method is PaymentMethod.STORE_CREDIT:
        return CaptureMode.AUTOMATIC
    merchant = uow.merchants.get(command.merchant_id)
    automatic = merchant.automatic_capture if merchant is not None else True
    return CaptureMode.AUTOMATIC if automatic else CaptureMode.MANUAL


def open_link(uow: UnitOfWork, token: str) -> tuple[Order, GiftCardLink]:
    """The consumer's click: recorded once, under the order's lock (a cancel may race it)."""
    found = uow.orders.find_link_order(token=token)
    if found is None:
        raise LinkNotFound("no such gift card")
    order = uow.orders.get(*found)
    link = next(link for link in order.links if link.token == token)
    return order, order.open_link(link.id, utcnow())


def spend_link(
    uow: UnitOfWork, merchant_id: uuid.UUID, link_id: uuid.UUID, amount: int
) -> tuple[Order, GiftCardLink]:
    found = uow.orders.find_link_order(link_id)
    if found is None or found[0] != merchant_id:
        raise LinkNotFound(f"no link {link_id}", link_id=str(link_id))
    order = uow.orders.get(merchant_id, found[1])
    return order, order.spend_link(link_id, Money(amount, order.currency), utcnow())
