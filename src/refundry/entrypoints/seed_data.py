"""Realistic generated orders for `refundry seed`, benchmarks and report tests.

Orders are built and changed through the domain (placing, capture, fulfilment,
cancels, partial and full refunds with reasons) at chosen times spread over a
period, then written with the repository; nothing is hand-written as rows.

The data is history: every refund to the card is settled as the provider would have
settled it (most ``completed`` hours to days later, a few ``failed`` with the
provider's reason), every voided authorization is voided, and the orders' domain
events are dropped, so seeding puts nothing in the outbox for the worker to send.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from refundry.domain.errors import RefundryError
from refundry.domain.money import Currency
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    place_order,
)
from refundry.domain.refund import Refund, RefundMethod, RefundStatus
from refundry.services.transactions import run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# (currency, weight, VAT percent, shipping in minor units)
CURRENCIES = [("EUR", 70, 20, 490), ("USD", 20, 8, 599), ("JPY", 7, 10, 800), ("KWD", 3, 0, 1500)]
PRODUCTS = [
    ("MUG-STONE", "Stoneware mug", 1290),
    ("TEA-SENCHA", "Sencha green tea 100 g", 890),
    ("POT-CAST", "Cast-iron teapot", 5490),
    ("CUP-SET4", "Porcelain cup set (4)", 3290),
    ("TOWEL-LIN", "Linen tea towel", 1490),
    ("KETTLE-GOOSE", "Gooseneck kettle", 6990),
    ("WHISK-BAMB", "Bamboo matcha whisk", 1890),
    ("TRAY-OAK", "Oak serving tray", 3990),
]
REASONS = [
    "Arrived damaged",
    "arrived damaged.",
    "Wrong size ordered",
    "Customer changed their mind",
    "Late delivery",
    "Item not as described",
    None,
]


# Why card refunds fail at the provider (Stripe's ``failure_reason`` values), by weight.
FAILURE_REASONS = [
    ("expired_or_canceled_card", 5),
    ("lost_or_stolen_card", 2),
    ("declined", 2),
    ("unknown", 1),
]
FAILURE_RATE = 0.03  # the share of card refunds the provider refuses


# Tenths of a minor unit per euro cent: a plausible price in each currency's own units.
PRICE_FACTORS = {"EUR": 10, "USD": 11, "JPY": 16, "KWD": 33}


def _price(base_eur_cents: int, currency: str) -> int:
    return base_eur_cents * PRICE_FACTORS[currency] // 10


def generate_order(
    merchant_id: uuid.UUID,
    rng: random.Random,
    placed_at: datetime,
    number: int,
    *,
    failure_rate: float = FAILURE_RATE,
) -> Order:
    """One order and what happened to it later, at times after ``placed_at``.

    Everything has already happened: provider refunds are settled and the order's
    events are cleared, so writing it sends nothing to any provider.
    """
    code, _, vat, shipping = rng.choices(CURRENCIES, weights=[c[1] for c in CURRENCIES])[0]
    currency = Currency.of(code)
    lines = []
    for sku, name, base in rng.sample(PRODUCTS, rng.randint(1, 4)):
        quantity = rng.choice([1, 1, 1, 2, 2, 3, 5])
        price = _price(base, code)
        discount = (price * quantity) // 10 if rng.random() < 0.2 else 0
        tax = (price * quantity - discount) * vat // 100
        lines.append(NewLine(sku, name, LineKind.PHYSICAL, quantity, price, discount, tax))
    manual = rng.random() < 0.15
    order = place_order(
        merchant_id=merchant_id,
        external_id=f"GEN-{number:08d}",
        customer=Customer(f"customer{rng.randint(1, max(10, number // 3)):07d}@example.com"),
        currency=currency,
        lines=lines,
        shipping_amount=shipping,
        shipping_tax=shipping * vat // 100,
        payment_method=PaymentMethod.OTHER if rng.random() < 0.05 else PaymentMethod.CARD,
        capture_mode=CaptureMode.MANUAL if manual else CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=placed_at,
    )
    _live(order, rng, placed_at, failure_rate)
    order.events.clear()  # history: the provider already did what they asked for
    return order


def _live(order: Order, rng: random.Random, placed_at: datetime, failure_rate: float) -> None:
    """What happens after checkout: capture, cancel, fulfil, refunds and their settlement."""
    clock = placed_at

    def later(hours: float) -> datetime:
        nonlocal clock
        clock += timedelta(hours=rng.uniform(0.1, hours))
        return clock

    if order.payment.captured.minor == 0 and rng.random() < 0.8:
        order.capture(None, later(48))
    if rng.random() < 0.06:
        cancellation = order.cancel(
            reason=rng.choice(REASONS), status_label=None, created_by="seed", now=later(24)
        )
        if cancellation.refund is not None:
            _settle(order, cancellation.refund, rng, failure_rate)
        if cancellation.authorization_to_void:
            order.authorization_voided(later(0.1))
        return
    if order.payment.captured.minor == 0 or rng.random() < 0.15:
        return
    order.fulfil(None, later(72))
    dice = rng.random()
    refund: Refund | None = None
    try:
        if dice < 0.10:
            refund = order.refund(
                RefundRequest.full(restock=True),
                method=None,
                reason=rng.choice(REASONS),
                created_by="seed",
                now=later(24 * 20),
            )
        elif dice < 0.25:
            line = rng.choice(order.lines)
            request = RefundRequest(
                lines=(LineRefundRequest(line.id, rng.randint(1, line.quantity), restock=True),)
            )
            refund = order.refund(
                request,
                method=None,
                reason=rng.choice(REASONS),
                created_by="seed",
                now=later(24 * 20),
            )
        elif dice < 0.28:
            refund = order.refund(
                RefundRequest(amount=min(500, order.refundable.minor)),
                method=RefundMethod.OTHER,
                reason="Goodwill",
                created_by="seed",
                now=later(24 * 10),
            )
    except RefundryError:
        pass  # a generated refund that does not fit is simply not made
    if refund is not None:
        _settle(order, refund, rng, failure_rate)


def _settle(order: Order, refund: Refund, rng: random.Random, failure_rate: float) -> None:
    """Settle a refund the provider got, as the worker would have recorded it.

    Most are accepted within a minute (``processing``, with a ``re_...`` id) and complete
    hours to days later; a ``failure_rate`` share fail, some refused at once and some
    after acceptance. Refunds by other means (``not_requested``) stay as they are. A
    failed refund undoes its restock (a ``StockMoved``), but seeding writes no stock and
    drops the orders' events.
    """
    if refund.status is not RefundStatus.STARTED:
        return
    at = refund.created_at
    reference = f"re_{rng.getrandbits(96):024x}"
    fails = rng.random() < failure_rate
    if fails and rng.random() < 0.3:  # refused when sent
        reason = _failure_reason(rng)
        order.fail_refund(refund.id, reason, at + timedelta(seconds=rng.uniform(1, 60)))
        return
    order.refund_processing(refund.id, reference, at + timedelta(seconds=rng.uniform(1, 60)))
    settled_at = at + timedelta(hours=rng.uniform(1, 24 * 5))
    if fails:
        order.fail_refund(refund.id, _failure_reason(rng), settled_at)
    else:
        order.complete_refund(
            refund.id, settled_at, "settled by the provider", provider_reference=reference
        )


def _failure_reason(rng: random.Random) -> str:
    return rng.choices(FAILURE_REASONS, weights=[weight for _, weight in FAILURE_REASONS])[0][0]


def generate(
    merchant_id: uuid.UUID,
    count: int,
    *,
    start: datetime,
    end: datetime,
    seed: int = 7,
    failure_rate: float = FAILURE_RATE,
) -> Iterator[Order]:
    """``count`` orders placed between ``start`` and ``end``; the same seed gives the
    same data (ids aside). ``failure_rate`` is the share of card refunds that fail."""
    rng = random.Random(seed)  # noqa: S311 -- sample data, repeatable
    span = (end - start).total_seconds()
    for number in range(count):
        yield generate_order(
            merchant_id,
            rng,
            start + timedelta(seconds=rng.random() * span),
            number,
            failure_rate=failure_rate,
        )


def insert(
    uow_factory: UnitOfWorkFactory,
    orders: Iterator[Order],
    *,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write orders in batches, one transaction each; returns how many were written."""
    written = 0
    pending: list[Order] = []

    def flush() -> None:
        nonlocal written

        def add_all(uow: UnitOfWork) -> None:
            uow.orders.add_many(pending)

        run(uow_factory, add_all)
        written += len(pending)
        if progress:
            progress(len(pending))
        pending.clear()

    for order in orders:
        pending.append(order)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return written
