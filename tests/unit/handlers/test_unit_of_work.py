"""One transaction per use case: all of it commits through the bus, or none of it does
(``services.transactions``, ``services.messagebus``), here on the fake unit of work."""

from __future__ import annotations

import copy
import uuid
from typing import NoReturn

import pytest

from refundry.domain.events import StockMoved
from refundry.domain.order import Order
from refundry.domain.status import OrderStatus
from refundry.domain.webhooks import EventType
from refundry.services import messagebus
from refundry.services.handlers.cancellation import cancel_order
from refundry.services.transactions import IdempotencyKey, run, run_idempotently
from refundry.services.unit_of_work import UnitOfWork
from tests.unit.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG, TEAPOT


class PresenterCrashed(Exception):
    pass


def _cancel(uow: UnitOfWork, merchant_id: uuid.UUID, order: Order) -> Order:
    return cancel_order(uow, merchant_id, order.id, reason=None, status_label=None, actor="ana")


def _crash(_: object) -> NoReturn:
    raise PresenterCrashed("the response could not be rendered")


@pytest.fixture
def order(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID) -> Order:
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    given.a_webhook_endpoint(uow_factory, merchant_id, [EventType.CANCELLED])
    return given.an_order(uow_factory, merchant_id)


def test_a_use_case_that_raises_half_way_leaves_nothing_behind(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order
) -> None:
    # given
    before = copy.deepcopy(uow_factory.store)

    # when the order is cancelled (stock back, a refund recorded) and then something fails
    def cancel_then_fail(uow: UnitOfWork) -> None:
        cancelled = _cancel(uow, merchant_id, order)
        assert cancelled.status is OrderStatus.CANCELLED
        # the units going back on the shelf are recorded, for the bus to apply at the commit
        assert any(isinstance(event, StockMoved) for event in cancelled.events)
        raise PresenterCrashed("half-way")

    with pytest.raises(PresenterCrashed):
        run(uow_factory, cancel_then_fail)

    # then the store is exactly as it was: no cancel, no restock, no outbox, no webhook
    assert uow_factory.store == before
    assert uow_factory.store.orders[order.id].status is OrderStatus.PAID
    assert uow_factory.store.on_hand(merchant_id, MUG) == 8
    assert uow_factory.store.outbox_messages() == []
    assert uow_factory.store.webhook_events == []
    assert uow_factory.units[-1].committed is False


def test_a_keyed_request_that_fails_after_its_change_leaves_no_key_and_can_be_retried(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order
) -> None:
    # given
    key = IdempotencyKey.for_request(merchant_id, "cancel-1", "POST", f"/orders/{order.id}", {})
    before = copy.deepcopy(uow_factory.store)

    # when the cancel runs but its response cannot be rendered
    with pytest.raises(PresenterCrashed):
        run_idempotently(
            uow_factory, key, lambda uow: _cancel(uow, merchant_id, order), _crash, 200
        )

    # then neither the change nor the key was kept, so the same request may be sent again
    assert uow_factory.store == before
    retried = run_idempotently(
        uow_factory,
        key,
        lambda uow: _cancel(uow, merchant_id, order),
        lambda cancelled: {"status": cancelled.status.value},
        200,
    )
    assert (retried.replayed, retried.body) == (False, '{"status":"cancelled"}')
    # and a third time it is replayed, not run
    replayed = run_idempotently(
        uow_factory, key, lambda uow: _cancel(uow, merchant_id, order), _crash, 200
    )
    assert (replayed.replayed, replayed.body) == (True, retried.body)
    assert len(uow_factory.store.outbox_messages()) == 1


def test_a_commit_with_unhandled_events_is_refused_and_saves_nothing(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order
) -> None:
    # given
    before = copy.deepcopy(uow_factory.store)

    # when a use case's change is committed without running the bus's handlers
    with FakeUnitOfWork(uow_factory.store) as uow:
        _cancel(uow, merchant_id, order)
        with pytest.raises(RuntimeError, match="not handled"):
            uow.commit()

    # then it is refused, and leaving the block rolls it all back
    assert uow.committed is False
    assert uow_factory.store == before

    # when the same change is committed through the bus
    with FakeUnitOfWork(uow_factory.store) as uow:
        _cancel(uow, merchant_id, order)
        messagebus.commit(uow)

    # then it is saved with what its events caused
    assert uow.committed is True
    assert uow_factory.store.orders[order.id].status is OrderStatus.CANCELLED
    assert len(uow_factory.store.outbox_messages()) == 1
    assert len(uow_factory.store.webhook_events) == 1


def test_a_unit_of_work_does_not_overwrite_one_that_committed_after_it_began(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order
) -> None:
    # given a unit of work that began before another committed a cancel
    with uow_factory() as late:
        run(uow_factory, lambda uow: _cancel(uow, merchant_id, order))

        # when it commits a change of its own
        late.stock.adjust(merchant_id, MUG, -1, order.created_at)

        # then it is refused rather than undoing the cancel
        with pytest.raises(RuntimeError, match="another unit of work committed"):
            messagebus.commit(late)
    assert uow_factory.store.orders[order.id].status is OrderStatus.CANCELLED
    assert uow_factory.store.on_hand(merchant_id, MUG) == 10
