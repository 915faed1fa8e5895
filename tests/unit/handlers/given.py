"""The "given" steps of the handler tests: merchants, stock, endpoints and orders, each
made through the real use case in its own committed unit of work, as a client would."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
)
from refundry.domain.points import PointsProgram
from refundry.domain.webhooks import EventType, WebhookEndpoint
from refundry.services.handlers import points, stock, webhooks
from refundry.services.handlers.merchants import create_merchant
from refundry.services.handlers.orders import PlaceOrder, ingest_order
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refunds import RefundMade, refund_order
from refundry.services.transactions import run
from tests.unit.fakes import FakeUnitOfWorkFactory

MUG = "MUG-STONE"
TEAPOT = "POT-CAST"
CUSTOMER = Customer(email="ana@example.com")

# The README tour's order: two mugs with 10% off, a teapot, shipping; 9962 cents in all.
MUGS = NewLine(MUG, "Stoneware mug", LineKind.PHYSICAL, 2, 1290, discount=258, tax=464)
A_TEAPOT = NewLine(TEAPOT, "Cast-iron teapot", LineKind.PHYSICAL, 1, 5490, tax=1098)
TOUR_TOTAL = 9962


def a_merchant(uow_factory: FakeUnitOfWorkFactory) -> uuid.UUID:
    return run(uow_factory, lambda uow: create_merchant(uow, "Tea & Mugs")).merchant.id


def stock_levels(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, levels: Mapping[str, int]
) -> None:
    for sku, on_hand in levels.items():
        run(uow_factory, lambda uow: stock.set_stock(uow, merchant_id, sku, on_hand))


def a_webhook_endpoint(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, events: Sequence[EventType]
) -> WebhookEndpoint:
    return run(
        uow_factory,
        lambda uow: webhooks.create_endpoint(
            uow,
            merchant_id,
            url="https://merchant.example/hooks",
            enabled_events=events,
            description=None,
        ),
    )


def a_points_program(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, program: PointsProgram
) -> None:
    run(uow_factory, lambda uow: points.set_program(uow, merchant_id, program))


def an_order(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    lines: Sequence[NewLine] = (MUGS, A_TEAPOT),
    *,
    shipping: tuple[int, int] = (490, 98),
    payment_method: PaymentMethod = PaymentMethod.CARD,
    capture_mode: CaptureMode = CaptureMode.AUTOMATIC,
) -> Order:
    """Ingested as the checkout placed it; captured at once unless the capture is manual."""
    command = PlaceOrder(
        merchant_id=merchant_id,
        external_id=None,
        customer=CUSTOMER,
        currency_code="EUR",
        lines=lines,
        shipping_amount=shipping[0],
        shipping_tax=shipping[1],
        payment_method=payment_method,
        capture_mode=capture_mode,
    )
    return run(uow_factory, lambda uow: ingest_order(uow, command))


def line_of(order: Order, sku: str) -> uuid.UUID:
    return next(line.id for line in order.lines if line.sku == sku)


def a_refund_of(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    order: Order,
    sku: str,
    quantity: int = 1,
) -> RefundMade:
    """Support refunds ``quantity`` units of ``sku`` to the original payment, no quote."""
    request = RefundRequest(lines=(LineRefundRequest(line_of(order, sku), quantity),))
    return run(
        uow_factory,
        lambda uow: refund_order(
            uow,
            QuoteSigner(b"handler-tests"),
            merchant_id,
            order.id,
            request,
            method=None,
            reason=None,
            quote=None,
            actor="support",
        ),
    )
