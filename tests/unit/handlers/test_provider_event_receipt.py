"""A provider's refund event is applied in the request that receives it (issue 20): no
outbox message and no worker round per refund. One that cannot be applied is kept for
the worker, and a replay does nothing."""

from __future__ import annotations

import uuid

from refundry.domain.order import Order
from refundry.domain.payments import ProviderRefund, ProviderRefundEvent, ProviderRefundState
from refundry.domain.refund import RefundStatus
from refundry.services.handlers.provider_events import receive_provider_event
from refundry.services.ports.outbox import Topic
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG


def _receive(uow_factory: FakeUnitOfWorkFactory, order: Order, event: ProviderRefundEvent) -> bool:
    return receive_provider_event(
        uow_factory,
        provider="sandbox",
        event_id=event.event_id,
        event_type="refund.updated",
        refund_event=event,
        payload=b"{}",
    )


def _event(
    order: Order, refund_id: uuid.UUID | None, reference: str, amount: int
) -> ProviderRefundEvent:
    return ProviderRefundEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        refund=ProviderRefund(reference, ProviderRefundState.COMPLETED),
        amount=amount,
        currency_code="EUR",
        refundry_refund_id=refund_id,
        refundry_order_id=order.id,
        payment_reference=None,
    )


def _event_messages(uow_factory: FakeUnitOfWorkFactory) -> list[object]:
    return [
        queued
        for queued in uow_factory.store.outbox
        if queued.message.topic is Topic.PROVIDER_REFUND_EVENT
    ]


def test_an_event_about_our_refund_settles_it_in_the_receiving_transaction(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    order = given.an_order(uow_factory, merchant_id)
    refund = given.a_refund_of(uow_factory, merchant_id, order, MUG).refund
    event = _event(order, refund.id, "re_1", refund.money_amount.minor)
    commits = uow_factory.store.commits

    assert _receive(uow_factory, order, event) is True

    # settled at once, in one commit, with nothing left for the worker
    stored = uow_factory.store.orders[order.id].refund_by_id(refund.id)
    assert stored.status is RefundStatus.COMPLETED
    assert stored.provider_reference == "re_1"
    assert uow_factory.store.commits == commits + 1
    assert _event_messages(uow_factory) == []
    # told again: acknowledged as a duplicate, nothing changes
    assert _receive(uow_factory, order, event) is False
    assert uow_factory.store.orders[order.id].refund_by_id(refund.id) == stored


def test_an_event_the_order_cannot_take_now_is_kept_for_the_worker(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    order = given.an_order(uow_factory, merchant_id)
    # a "dashboard refund" of nothing: recording it is refused
    event = _event(order, None, "re_zero", 0)

    assert _receive(uow_factory, order, event) is True

    # the order is unchanged; the event waits for the worker, once
    assert uow_factory.store.orders[order.id].refunds == []
    assert len(_event_messages(uow_factory)) == 1
    assert _receive(uow_factory, order, event) is False
    assert len(_event_messages(uow_factory)) == 1
