"""The message bus (``services.messagebus``): which handlers an event reaches, in what
batches and rounds, and that their rows commit with the change or not at all."""

from __future__ import annotations

import copy
import typing
import uuid
from collections.abc import Sequence
from datetime import datetime

import pytest

from refundry.domain import events
from refundry.domain.events import OrderCancelled, RefundRequested, StockMoved
from refundry.domain.order import Order
from refundry.domain.status import OrderStatus
from refundry.domain.webhooks import EventType
from refundry.services import messagebus
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.ports.outbox import Topic
from refundry.services.transactions import run
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG, TEAPOT

# Event types the orders record and nobody acts on: none today. A new event type must be
# routed on purpose, to handlers in ``EVENT_HANDLERS`` or to this list.
EVENTS_ROUTED_NOWHERE: frozenset[type[events.DomainEvent]] = frozenset()


class Recorder:
    """A handler that keeps each batch it is handed, as (order id, event) pairs, and
    notes in ``ran`` (shared between recorders) when it runs."""

    def __init__(self, ran: list[Recorder] | None = None) -> None:
        self.batches: list[list[tuple[uuid.UUID, events.DomainEvent]]] = []
        self.ran = ran if ran is not None else []

    def __call__(self, uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime) -> None:
        self.batches.append([(order.id, event) for order, event in recorded])
        self.ran.append(self)


def _cancel(uow: UnitOfWork, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    return cancel_order(uow, merchant_id, order_id, reason=None, status_label=None, actor="ana")


def _recorded(*orders: Order) -> list[tuple[uuid.UUID, events.DomainEvent]]:
    """What the orders have recorded so far and not yet handed to the bus, in order."""
    return [(order.id, event) for order in orders for event in order.events]


@pytest.fixture
def orders(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID) -> tuple[Order, Order]:
    """Two captured tour orders, with stock to take from and an endpoint for cancels."""
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    given.a_webhook_endpoint(uow_factory, merchant_id, [EventType.CANCELLED])
    return given.an_order(uow_factory, merchant_id), given.an_order(uow_factory, merchant_id)


# ------------------------------------------------------------------------ the table
def test_every_handler_in_the_table_has_a_place_in_the_handler_order() -> None:
    # a handler missing from HANDLER_ORDER would be handed its batches and never run
    routed = {handler for handlers in messagebus.EVENT_HANDLERS.values() for handler in handlers}
    assert routed <= set(messagebus.HANDLER_ORDER)
    # and one listed twice would run twice a round
    assert len(set(messagebus.HANDLER_ORDER)) == len(messagebus.HANDLER_ORDER)


def test_every_event_type_is_routed_to_handlers_or_deliberately_to_none() -> None:
    event_types = set(typing.get_args(events.DomainEvent))
    routed = {event_type for event_type, handlers in messagebus.EVENT_HANDLERS.items() if handlers}

    assert event_types == routed | EVENTS_ROUTED_NOWHERE
    assert not routed & EVENTS_ROUTED_NOWHERE
    # today every event type has handlers
    assert routed == event_types


# ------------------------------------------------------------------------ batches and rounds
def test_each_handler_is_handed_all_its_events_of_a_commit_once_in_the_order_recorded(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    orders: tuple[Order, Order],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given two handlers, one of them for two event types, the other listed first
    ran: list[Recorder] = []
    notify, shelve = Recorder(ran), Recorder(ran)
    monkeypatch.setattr(
        messagebus,
        "EVENT_HANDLERS",
        {RefundRequested: (notify,), OrderCancelled: (notify,), StockMoved: (shelve,)},
    )
    monkeypatch.setattr(messagebus, "HANDLER_ORDER", (shelve, notify))

    with uow_factory() as uow:
        # and two orders cancelled in one unit of work, each recording three events
        first, second = (_cancel(uow, merchant_id, order.id) for order in orders)
        recorded = _recorded(first, second)
        assert [type(event) for _, event in recorded] == 2 * [
            RefundRequested,
            StockMoved,
            OrderCancelled,
        ]

        # when the bus handles them, and is asked again
        messagebus.handle_events(uow)
        messagebus.handle_events(uow)

    # then each handler ran once, in the handler order, with all its events in the order
    # they were recorded
    assert ran == [shelve, notify]
    assert shelve.batches == [
        [(order_id, event) for order_id, event in recorded if isinstance(event, StockMoved)]
    ]
    assert notify.batches == [
        [(order_id, event) for order_id, event in recorded if not isinstance(event, StockMoved)]
    ]


def test_events_recorded_by_a_handler_are_handled_in_a_further_round(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    orders: tuple[Order, Order],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the bus's own handlers, a recorder of every event, and a handler that cancels
    # the second order when the first one is cancelled
    first, second = orders
    recorder = Recorder()

    def cancel_the_second_too(
        uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime
    ) -> None:
        if any(order.id == first.id for order, _ in recorded):
            _cancel(uow, merchant_id, second.id)

    table = {
        event_type: (*handlers, recorder)
        for event_type, handlers in messagebus.EVENT_HANDLERS.items()
    }
    table[OrderCancelled] = (*table[OrderCancelled], cancel_the_second_too)
    monkeypatch.setattr(messagebus, "EVENT_HANDLERS", table)
    monkeypatch.setattr(
        messagebus, "HANDLER_ORDER", (*messagebus.HANDLER_ORDER, recorder, cancel_the_second_too)
    )

    # when the first order is cancelled and committed
    run(uow_factory, lambda uow: _cancel(uow, merchant_id, first.id))

    # then the second order's events were handled in a round of their own
    assert [[order_id for order_id, _ in batch] for batch in recorder.batches] == [
        3 * [first.id],
        3 * [second.id],
    ]
    # by the bus's handlers too: both refunds are queued, both cancels published, all restocked
    store = uow_factory.store
    cancelled = [store.orders[order.id] for order in orders]
    assert [order.status for order in cancelled] == 2 * [OrderStatus.CANCELLED]
    assert [message.payload for message in store.outbox_messages()] == [
        {"refund_id": str(order.refunds[0].id)} for order in cancelled
    ]
    assert [event.order_id for event in store.webhook_events] == [first.id, second.id]
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (10, 5)


# ------------------------------------------------------------------------ commit and rollback
def test_a_committed_cancel_has_its_outbox_message_webhook_event_and_stock_move(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, orders: tuple[Order, Order]
) -> None:
    # given
    order, _ = orders
    store = uow_factory.store
    commits_before = store.commits
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (6, 3)

    # when
    with uow_factory() as uow:
        _cancel(uow, merchant_id, order.id)
        messagebus.commit(uow)

    # then the change and what its handlers wrote were committed together, once
    assert uow.committed is True
    assert store.commits == commits_before + 1
    cancelled = store.orders[order.id]
    assert cancelled.status is OrderStatus.CANCELLED
    [message] = store.outbox_messages()
    assert (message.topic, message.order_id) == (Topic.PROVIDER_REFUND, order.id)
    assert message.payload == {"refund_id": str(cancelled.refunds[0].id)}
    [event] = store.webhook_events
    assert (event.type, event.order_id) == (EventType.CANCELLED, order.id)
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (8, 4)


def test_a_use_case_that_raises_after_its_events_were_handled_leaves_none_of_their_rows(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, orders: tuple[Order, Order]
) -> None:
    # given
    order, _ = orders
    before = copy.deepcopy(uow_factory.store)

    # when a cancel's events are handled (its rows written) and then the use case fails
    def cancel_handle_then_fail(uow: UnitOfWork) -> None:
        _cancel(uow, merchant_id, order.id)
        messagebus.handle_events(uow)
        assert uow.stock.list(merchant_id, [MUG])[0].on_hand == 8  # moved, uncommitted
        raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        run(uow_factory, cancel_handle_then_fail)

    # then nothing was kept: no cancel, no outbox message, no webhook event, no stock move
    store = uow_factory.store
    assert store == before
    assert store.orders[order.id].status is OrderStatus.PAID
    assert store.outbox_messages() == []
    assert store.webhook_events == []
    assert store.on_hand(merchant_id, MUG) == 6


def test_a_handler_that_raises_rolls_back_the_change_and_the_other_handlers_rows(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    orders: tuple[Order, Order],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a last handler that fails after the bus's own have written their rows
    def fail(uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime) -> None:
        raise RuntimeError("the last handler failed")

    table = dict(messagebus.EVENT_HANDLERS)
    table[OrderCancelled] = (*table[OrderCancelled], fail)
    monkeypatch.setattr(messagebus, "EVENT_HANDLERS", table)
    monkeypatch.setattr(messagebus, "HANDLER_ORDER", (*messagebus.HANDLER_ORDER, fail))
    order, _ = orders
    before = copy.deepcopy(uow_factory.store)

    # when
    with pytest.raises(RuntimeError, match="last handler"):
        run(uow_factory, lambda uow: _cancel(uow, merchant_id, order.id))

    # then
    assert uow_factory.store == before
    assert uow_factory.units[-1].committed is False
