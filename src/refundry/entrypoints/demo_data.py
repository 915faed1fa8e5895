"""Sample data for ``refundry demo``: one merchant and ~50 orders in every state.

Everything goes through the same use cases as the API, so the demo shows what the
engine really does (stock, refund maths, statuses), never hand-written rows.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    PaymentMethod,
    RefundRequest,
)
from refundry.domain.refund import RefundMethod
from refundry.domain.staff import Role
from refundry.services import clock, transactions
from refundry.services.handlers import cancellation, merchant_float, orders, staff, stock
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
    + ["fulfilled"] * 10
    + ["partially_refunded"] * 8
    + ["goodwill"] * 2
    + ["fully_refunded"] * 4
    + ["cancelled_paid"] * 4
    + ["cancelled_authorized"] * 3
    + ["refunded_other_means"] * 2
)


def seed_demo(
    uow_factory: UnitOfWorkFactory, quotes: QuoteSigner, *, api_secret: str
) -> DemoSummary:
    rng = random.Random(20261123)  # noqa: S311 -- sample data, the same demo every time
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
        on_hand = rng.randint(40, 120)
        transactions.run(
            uow_factory,
            partial(stock.set_stock, merchant_id=merchant_id, sku=sku, on_hand=on_hand),
        )
    for number, scenario in enumerate(SCENARIOS, start=1001):
        _play(uow_factory, quotes, merchant_id, number, scenario, rng)
    gift_orders = _seed_gift_cards(uow_factory, merchant_id)
    transactions.run(
        uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, role=Role.ADMIN
        ),
    )
    return DemoSummary(merchant_id, created.api_key, len(SCENARIOS) + gift_orders)


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
    rng: random.Random,
) -> None:
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
    order = transactions.run(uow_factory, lambda uow: orders.ingest_order(uow, command))

    def run_refund(request: RefundRequest, method: RefundMethod | None = None) -> None:
        transactions.run(
            uow_factory,
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
        transactions.run(
            uow_factory, lambda uow: orders.fulfil_order(uow, merchant_id, order.id, None)
        )

    if scenario in ("fulfilled", "partially_refunded", "fully_refunded", "goodwill"):
        fulfil()
    if scenario == "partially_refunded":
        line = order.lines[0]
        run_refund(RefundRequest(lines=(LineRefundRequest(line.id, 1, restock=True),)))
    elif scenario == "goodwill":
        run_refund(RefundRequest(amount=500))
    elif scenario in ("fully_refunded", "refunded_other_means"):
        run_refund(RefundRequest.full(restock=True))
    elif scenario.startswith("cancelled"):
        transactions.run(
            uow_factory,
            lambda uow: cancel_order(
                uow,
                merchant_id,
                order.id,
                reason=rng.choice(["Customer request", "Out of stock", None]),
                status_label=None,
                actor=DEMO_ACTOR,
            ),
        )
