"""A refund the provider refuses, applied by the worker (``handlers.provider_work``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from refundry.domain.errors import ProviderRejected
from refundry.domain.money import Money
from refundry.domain.order import Order, PaymentMethod
from refundry.domain.payments import (
    Authorization,
    ProviderRefund,
    ProviderRefundState,
    RefundInstruction,
)
from refundry.domain.refund import Refund, RefundStatus
from refundry.domain.status import OrderStatus
from refundry.domain.webhooks import EventType
from refundry.services.handlers import provider_work
from refundry.services.handlers.provider_work import ProviderWork
from refundry.services.ports.outbox import MessageState
from refundry.services.ports.payment_providers import ProviderRegistry
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG, TEAPOT, TOUR_TOTAL

REFUSAL = "the card account is closed"


class ScriptedProvider:
    """A card gateway that answers refunds from a script: ``True`` settles one, ``False``
    refuses it for good. Nothing else is asked of it here."""

    name = "scripted"

    def __init__(self, *answers: bool) -> None:
        self._answers: Iterator[bool] = iter(answers)
        self.refunded: list[RefundInstruction] = []

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        self.refunded.append(instruction)
        if not next(self._answers):
            raise ProviderRejected(REFUSAL)
        return ProviderRefund(f"re_{instruction.refund_id.hex}", ProviderRefundState.COMPLETED)

    def fetch_refund(self, reference: str) -> ProviderRefund:
        raise AssertionError("a settled or refused refund is never fetched")

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise AssertionError("not asked in these tests")

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")


def _refund_one(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, order: Order, sku: str
) -> Refund:
    return given.a_refund_of(uow_factory, merchant_id, order, sku).refund


def _worker_sends(uow_factory: FakeUnitOfWorkFactory, provider: ScriptedProvider) -> int:
    registry = ProviderRegistry({PaymentMethod.CARD: provider})
    return provider_work.process_outbox(ProviderWork(uow_factory, registry))


def test_a_refused_refund_is_refundable_again_its_restock_undone_and_the_order_paid_again(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given an unshipped mug refunded (and so restocked), waiting for the provider
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id)
    refund = _refund_one(uow_factory, merchant_id, order, MUG)
    store = uow_factory.store
    assert store.orders[order.id].status is OrderStatus.PARTIALLY_REFUNDED
    assert store.on_hand(merchant_id, MUG) == 9

    # when the worker sends it and the provider refuses it
    assert _worker_sends(uow_factory, ScriptedProvider(False)) == 1

    # then the refund failed with the provider's reason, and its money is owed again
    after = store.orders[order.id]
    failed = after.refund_by_id(refund.id)
    assert (failed.status, failed.failure_reason) == (RefundStatus.FAILED, REFUSAL)
    assert after.refundable.minor == TOUR_TOTAL
    assert after.status is OrderStatus.PAID  # no refund counts any more
    # the mug it put back is off the shelf again, and the worker is done with the message
    assert store.on_hand(merchant_id, MUG) == 8
    [queued] = store.outbox
    assert queued.state is MessageState.DONE
    # merchants heard of the refund, then that it moved
    assert [event.type for event in store.webhook_events] == [
        EventType.REFUNDED,
        EventType.REFUND_UPDATED,
    ]
    # and the same mug can be refunded again
    again = _refund_one(uow_factory, merchant_id, order, MUG)
    assert again.amount == refund.amount


def test_a_refused_refund_leaves_the_order_as_its_other_refunds_say(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given a mug refund the provider settles, then a teapot refund it refuses
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id)
    mug = _refund_one(uow_factory, merchant_id, order, MUG)
    teapot = _refund_one(uow_factory, merchant_id, order, TEAPOT)
    provider = ScriptedProvider(True, False)

    # when the worker sends both
    assert _worker_sends(uow_factory, provider) == 2

    # then the order is partially refunded by the mug alone, and only the teapot is back off
    # the shelf
    store = uow_factory.store
    after = store.orders[order.id]
    assert [instruction.refund_id for instruction in provider.refunded] == [mug.id, teapot.id]
    assert after.refund_by_id(mug.id).status is RefundStatus.COMPLETED
    assert after.refund_by_id(teapot.id).status is RefundStatus.FAILED
    assert after.status is OrderStatus.PARTIALLY_REFUNDED
    assert after.refundable == after.payment.captured - mug.amount
    assert (store.on_hand(merchant_id, MUG), store.on_hand(merchant_id, TEAPOT)) == (9, 4)
