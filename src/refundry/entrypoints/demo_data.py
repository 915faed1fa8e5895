"""Sample data for ``refundry demo``: one merchant and its last 90 days, ~100 orders in
every state, with refunds, cancellations and returns.

Everything goes through the same use cases as the API, so the demo shows what the
engine really does (stock, refund maths, statuses), never hand-written rows. Each use case
runs with the clock pinned at its moment in the story (``clock.pinned_at``): an order is
placed on its day, shipped, refunded or returned days later, never after now, so the
reports and their 30-day chart look like a shop's. Nothing of it is dated today but the
orders still waiting (the README's tours read today's figures as their own); the
gift-card links and the float are today's, as seed 000 walks them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    ReturnLineRequest,
)
from refundry.domain.refund import RefundMethod
from refundry.domain.returns import ReceivedUnits
from refundry.domain.staff import Role
from refundry.entrypoints.demo_story import Story, release_hold, settle_refunds
from refundry.services import clock, transactions
from refundry.services.handlers import cancellation, merchant_float, orders, returns, staff, stock
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.handlers.merchants import create_merchant, update_merchant
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refunds import refund_order
from refundry.services.unit_of_work import UnitOfWorkFactory

# Known to anyone reading the README: the demo database is for trying Refundry on
# one's own machine, never for real money.
DEMO_API_KEY_SECRET = "demo-secret-do-not-use-in-production"  # noqa: S105
DEMO_API_KEY_ID = uuid.UUID("00000000-0000-4000-8000-00000000de70")
DEMO_ACTOR = "demo:seed"
# The shop's own statuses after cancellation, offered beside "Canceled" (seed 001).
DEMO_CANCEL_LABELS = ("Refused", "Out of stock", "At the customer's request", "Fraud suspected")

# (sku, name, unit price in cents excl. VAT, kind)
CATALOGUE = [
    ("MUG-STONE", "Stoneware mug", 1290, LineKind.PHYSICAL),
    ("TEA-SENCHA", "Sencha green tea 100 g", 890, LineKind.PHYSICAL),
    ("POT-CAST", "Cast-iron teapot", 5490, LineKind.PHYSICAL),
    ("CUP-SET4", "Porcelain cup set (4)", 3290, LineKind.PHYSICAL),
    ("TOWEL-LIN", "Linen tea towel", 1490, LineKind.PHYSICAL),
    ("EBOOK-TEA", "The Tea Handbook (e-book)", 990, LineKind.DIGITAL),
    ("GIFT-25", "Gift card link EUR 25", 2500, LineKind.GIFT_CARD_LINK),
]
CUSTOMERS = [
    "ana.lopez@example.com",
    "ben.okafor@example.com",
    "chloe.martin@example.com",
    "dmitri.ivanov@example.com",
    "emma.schmidt@example.com",
    "farah.haddad@example.com",
    "gustav.berg@example.com",
    "hana.sato@example.com",
]
REASONS = [
    "Arrived damaged",
    "Wrong size ordered",
    "Customer changed their mind",
    "Late delivery",
    "Duplicate order",
]
VAT_PERCENT = 20
SHIPPING = 490


# The demo's dashboard login, printed by `refundry demo`; it exists only in the demo database.
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_PASSWORD = "demo-password-do-not-reuse"  # noqa: S105 -- published on purpose


@dataclass(frozen=True, slots=True)
class DemoSummary:
    merchant_id: uuid.UUID
    api_key: str
    orders: int


# The story of each demo order: what happens after the checkout placed it.
SCENARIOS = (
    ["pending"] * 3
    + ["authorized"] * 5
    + ["paid"] * 10
    + ["fulfilled"] * 36
    + ["partially_refunded"] * 14
    + ["goodwill"] * 4
    + ["fully_refunded"] * 7
    + ["cancelled_paid"] * 7
    + ["cancelled_authorized"] * 4
    + ["refunded_other_means"] * 2
    + ["returned"] * 8
)
HISTORY_DAYS = 90
# How long ago each story's order was placed, in days: holds still waiting and unshipped
# orders are recent (a card hold lapses within days); a return has arrived and been
# refunded before today.
PLACED_DAYS_AGO = {"pending": (0, 2), "authorized": (0, 3), "paid": (0, 5), "returned": (20, 88)}


def seed_demo(
    uow_factory: UnitOfWorkFactory, quotes: QuoteSigner, *, api_secret: str
) -> DemoSummary:
    rng = random.Random(20261123)  # noqa: S311 -- sample data, the same demo every time
    now = clock.utcnow()
    with clock.pinned_at(now - timedelta(days=HISTORY_DAYS + 1)):  # the shop opens
        created = transactions.run(
            uow_factory,
            lambda uow: create_merchant(
                uow, "Demo Tea House", api_key_id=DEMO_API_KEY_ID, api_secret=api_secret
            ),
        )
        merchant_id = created.merchant.id
        transactions.run(
            uow_factory,
            partial(update_merchant, merchant_id=merchant_id, cancel_labels=DEMO_CANCEL_LABELS),
        )
        for sku, *_ in CATALOGUE:
            on_hand = rng.randint(150, 300)
            transactions.run(
                uow_factory,
                partial(stock.set_stock, merchant_id=merchant_id, sku=sku, on_hand=on_hand),
            )
    stories = sorted((_placed_at(scenario, now, rng), scenario) for scenario in SCENARIOS)
    for number, (placed_at, scenario) in enumerate(stories, start=1001):
        story = Story(placed_at, now, rng)
        _play(uow_factory, quotes, merchant_id, number, scenario, story)
    gift_orders = _seed_gift_cards(uow_factory, merchant_id)
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, role=Role.ADMIN
        ),
    )
    return DemoSummary(merchant_id, created.api_key, len(SCENARIOS) + gift_orders)


def _placed_at(scenario: str, now: datetime, rng: random.Random) -> datetime:
    """A moment in the shop's hours (08-22 UTC), more orders lately than 90 days ago."""
    first, last = PLACED_DAYS_AGO.get(scenario, (1, HISTORY_DAYS))
    days_ago = first + int((last - first + 1) * rng.random() ** 1.4)
    day = (now - timedelta(days=days_ago)).replace(hour=8, minute=0, second=0, microsecond=0)
    placed = day + timedelta(minutes=rng.randint(0, 14 * 60))
    return min(placed, now - timedelta(minutes=rng.randint(5, 90)))


def _seed_gift_cards(uow_factory: UnitOfWorkFactory, merchant_id: uuid.UUID) -> int:
    """Seed 000's platform: gift-card links bought from the prepaid float, in every state."""
    transactions.run(
        uow_factory,
        lambda uow: merchant_float.open_float(uow, merchant_id, "EUR", InvoiceCycle.MONTHLY),
    )
    transactions.run(
        uow_factory, lambda uow: merchant_float.top_up_float(uow, merchant_id, 500_000)
    )
    stories = ["untouched", "opened", "spent", "cancelled", "expired"]
    for number, story in enumerate(stories, start=9001):
        _play_gift_card(uow_factory, merchant_id, number, story)
    return len(stories)


def _play_gift_card(
    uow_factory: UnitOfWorkFactory, merchant_id: uuid.UUID, number: int, story: str
) -> None:
    now = clock.utcnow()
    expires = now - timedelta(days=1) if story == "expired" else now + timedelta(days=365)
    command = orders.PlaceOrder(
        merchant_id=merchant_id,
        external_id=f"CONNECT-{number}",
        customer=Customer("rewards@acme-corp.example"),
        currency_code="EUR",
        lines=[
            NewLine(
                "GIFT-25",
                "Gift card link EUR 25",
                LineKind.GIFT_CARD_LINK,
                2,
                2500,
                link_expires_at=expires,
            )
        ],
        payment_method=PaymentMethod.FLOAT,
    )
    order = transactions.run(uow_factory, lambda uow: orders.ingest_order(uow, command))
    first = order.links[0]
    if story == "opened":
        transactions.run(uow_factory, lambda uow: orders.open_link(uow, first.token))
    elif story == "spent":
        transactions.run(
            uow_factory, lambda uow: orders.spend_link(uow, merchant_id, first.id, 1000)
        )
    elif story == "cancelled":
        transactions.run(
            uow_factory,
            lambda uow: cancellation.cancel_item(
                uow, merchant_id, order.id, first.id, reason="Employee left", actor=DEMO_ACTOR
            ),
        )


def _lines(rng: random.Random) -> list[NewLine]:
    picks = rng.sample(CATALOGUE[:6], rng.randint(1, 3))
    if rng.random() < 0.15:
        picks.append(CATALOGUE[6])
    lines = []
    for sku, name, price, kind in picks:
        quantity = 1 if kind is not LineKind.PHYSICAL else rng.randint(1, 3)
        subtotal = price * quantity
        discount = subtotal // 10 if rng.random() < 0.25 else 0
        tax = 0 if kind is LineKind.GIFT_CARD_LINK else (subtotal - discount) * VAT_PERCENT // 100
        lines.append(NewLine(sku, name, kind, quantity, price, discount, tax))
    return lines


def _play(
    uow_factory: UnitOfWorkFactory,
    quotes: QuoteSigner,
    merchant_id: uuid.UUID,
    number: int,
    scenario: str,
    story: Story,
) -> None:
    rng = story.rng
    capture = CaptureMode.MANUAL if scenario.endswith("authorized") else CaptureMode.AUTOMATIC
    command = orders.PlaceOrder(
        merchant_id=merchant_id,
        external_id=f"SHOP-{number}",
        customer=Customer(rng.choice(CUSTOMERS)),
        currency_code="EUR",
        lines=_lines(rng),
        shipping_amount=SHIPPING,
        shipping_tax=SHIPPING * VAT_PERCENT // 100,
        payment_method=PaymentMethod.OTHER
        if scenario == "refunded_other_means"
        else PaymentMethod.CARD,
        capture_mode=capture,
        authorized=0 if scenario == "pending" else None,
    )
    with clock.pinned_at(story.at):
        order = transactions.run(uow_factory, lambda uow: orders.ingest_order(uow, command))

    def at(moment: datetime, use_case: Callable[..., object]) -> object:
        with clock.pinned_at(moment):
            return transactions.run(uow_factory, use_case)

    def run_refund(request: RefundRequest, method: RefundMethod | None = None) -> None:
        at(
            story.after(24 * 12),
            lambda uow: refund_order(
                uow,
                quotes,
                merchant_id,
                order.id,
                request,
                method=method,
                reason=rng.choice(REASONS),
                quote=None,
                actor=DEMO_ACTOR,
            ),
        )

    def fulfil() -> None:
        at(story.after(48), lambda uow: orders.fulfil_order(uow, merchant_id, order.id, None))

    if scenario in ("fulfilled", "partially_refunded", "fully_refunded", "goodwill", "returned"):
        fulfil()
    if scenario == "partially_refunded":
        line = order.lines[0]
        run_refund(RefundRequest(lines=(LineRefundRequest(line.id, 1, restock=True),)))
    elif scenario == "goodwill":
        run_refund(RefundRequest(amount=500))
    elif scenario in ("fully_refunded", "refunded_other_means"):
        run_refund(RefundRequest.full(restock=True))
    elif scenario == "returned":
        _return(at, story, merchant_id, order, quotes)
    elif scenario.startswith("cancelled"):
        at(
            story.after(20),
            lambda uow: cancel_order(
                uow,
                merchant_id,
                order.id,
                reason=rng.choice(["Customer request", "Out of stock", None]),
                status_label=None,
                actor=DEMO_ACTOR,
            ),
        )
        release_hold(at, story, merchant_id, order.id)
    settle_refunds(uow_factory, at, story, merchant_id, order.id)


def _return(
    at: Callable[[datetime, Callable[..., object]], object],
    story: Story,
    merchant_id: uuid.UUID,
    order: Order,
    quotes: QuoteSigner,
) -> None:
    """A return of one unit: asked for days after delivery, received, refunded to the
    card less a 10% restocking fee on some; all before today."""
    line = next(line for line in order.lines if line.kind is LineKind.PHYSICAL)
    fee = 1000 if story.rng.random() < 0.4 else 0
    made = at(
        story.after(24 * 6, before_today=True),
        lambda uow: returns.create_return(
            uow, merchant_id, order.id,
            [ReturnLineRequest(line.id, 1, story.rng.choice(REASONS))],
            requested=False, restocking_fee_bp=fee, return_shipping_fee=0, note=None,
            actor=DEMO_ACTOR,
        ),
    )  # fmt: skip
    assert isinstance(made, returns.ReturnChange)
    return_id = made.order_return.id
    damaged = 1 if story.rng.random() < 0.25 else 0
    at(
        story.after(24 * 4, before_today=True),
        lambda uow: returns.receive_return(
            uow, merchant_id, return_id, [ReceivedUnits(line.id, 1 - damaged, damaged)],
            actor=DEMO_ACTOR,
        ),
    )  # fmt: skip
    at(
        story.after(24, before_today=True),
        lambda uow: returns.refund_return(
            uow, quotes, merchant_id, return_id,
            method=None, reason="Returned", quote=None, actor=DEMO_ACTOR,
        ),
    )  # fmt: skip
