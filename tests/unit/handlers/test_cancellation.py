"""Cancelling an order, or one line of it, before anything ships (``handlers.cancellation``)."""

from __future__ import annotations

import json
import uuid

from refundry.domain.order import AuthorizationState, CaptureMode, Order
from refundry.domain.refund import RefundKind, RefundStatus
from refundry.domain.status import OrderStatus
from refundry.domain.webhooks import EventType
from refundry.services.handlers.cancellation import cancel_item, cancel_order
from refundry.services.ports.outbox import Topic
from refundry.services.transactions import run
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG, TEAPOT, TOUR_TOTAL


def _cancel(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order) -> None:
    run(
        uow_factory,
        lambda uow: cancel_order(
            uow, merchant_id, order.id, reason="Changed my mind", status_label=None, actor="ana"
        ),
    )


def _cancel_line(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order, sku: str
) -> None:
    line_id = given.line_of(order, sku)
    run(
        uow_factory,
        lambda uow: cancel_item(uow, merchant_id, order.id, line_id, reason=None, actor="ana"),
    )


def test_cancelling_a_captured_unfulfilled_order_restocks_it_and_refunds_it_through_the_provider(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given a captured card order of 2 mugs and a teapot, and two webhook endpoints
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    listening = given.a_webhook_endpoint(uow_factory, merchant_id, [EventType.CANCELLED])
    given.a_webhook_endpoint(uow_factory, merchant_id, [EventType.REFUNDED])
    order = given.an_order(uow_factory, merchant_id)
    store = uow_factory.store
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (8, 4)

    # when
    _cancel(uow_factory, merchant_id, order)

    # then the order is cancelled and every unit is back on the shelf
    cancelled = store.orders[order.id]
    assert cancelled.status is OrderStatus.CANCELLED
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (10, 5)
    # one cancellation refund of everything captured, waiting for the provider
    [refund] = cancelled.refunds
    assert refund.kind is RefundKind.CANCELLATION
    assert refund.status is RefundStatus.STARTED
    assert refund.amount.minor == TOUR_TOTAL == cancelled.payment.captured.minor
    # one outbox message asks the worker to send it
    [message] = store.outbox_messages()
    assert (message.topic, message.order_id) == (Topic.PROVIDER_REFUND, order.id)
    assert message.payload == {"refund_id": str(refund.id)}
    # one webhook event, owed to the endpoint that subscribed to cancellations only
    [event] = store.webhook_events
    assert (event.type, event.order_id, event.sequence) == (EventType.CANCELLED, order.id, 1)
    assert json.loads(event.body)["data"]["order"]["id"] == str(order.id)
    assert [delivery.endpoint_id for delivery in store.webhook_deliveries] == [listening.id]


def test_cancelling_an_authorized_order_asks_to_void_the_hold_and_refunds_nothing(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given an order whose payment is only held (manual capture)
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id, capture_mode=CaptureMode.MANUAL)
    assert order.status is OrderStatus.AUTHORIZED

    # when
    _cancel(uow_factory, merchant_id, order)

    # then the hold is to be released at the provider, and no money moves
    store = uow_factory.store
    cancelled = store.orders[order.id]
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.payment.authorization_state is AuthorizationState.VOID_PENDING
    assert cancelled.refunds == []
    [message] = store.outbox_messages()
    assert (message.topic, message.order_id) == (Topic.PROVIDER_VOID_AUTHORIZATION, order.id)
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (10, 5)


def test_cancelling_one_line_of_a_captured_order_restocks_that_line_and_refunds_its_share(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id)

    # when the mugs are cancelled
    _cancel_line(uow_factory, merchant_id, order, MUG)

    # then only the mugs are back, and only their share of the money is refunded
    store = uow_factory.store
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (10, 4)
    changed = store.orders[order.id]
    [refund] = changed.refunds
    assert refund.kind is RefundKind.CANCELLATION
    assert [(line.order_line_id, line.quantity) for line in refund.breakdown.lines] == [
        (given.line_of(order, MUG), 2)
    ]
    assert refund.amount.minor == 2 * 1290 - 258 + 464
    assert changed.status is OrderStatus.PARTIALLY_REFUNDED
    [message] = store.outbox_messages()
    assert (message.topic, message.payload) == (
        Topic.PROVIDER_REFUND,
        {"refund_id": str(refund.id)},
    )


def test_cancelling_one_line_of_an_uncaptured_order_restocks_that_line_and_moves_no_money(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id, capture_mode=CaptureMode.MANUAL)

    # when the mugs are cancelled
    _cancel_line(uow_factory, merchant_id, order, MUG)

    # then only the mugs are back, stopped without a refund; the hold stays for the teapot
    store = uow_factory.store
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (10, 4)
    changed = store.orders[order.id]
    assert changed.refunds == []
    assert changed.line(given.line_of(order, MUG)).cancelled_quantity == 2
    assert changed.line(given.line_of(order, TEAPOT)).cancelled_quantity == 0
    assert changed.status is OrderStatus.AUTHORIZED
    assert store.outbox_messages() == []
