"""The worker's provider work a batch at a time (issue 20): one lease, one read, the calls
side by side within a bound, one transaction for every outcome; one message's trouble is
its own."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta

from refundry.domain.money import Money
from refundry.domain.order import PaymentMethod
from refundry.domain.payments import (
    Authorization,
    ProviderRefund,
    ProviderRefundState,
    RefundInstruction,
)
from refundry.domain.refund import Refund, RefundStatus
from refundry.services.clock import utcnow
from refundry.services.handlers import provider_work
from refundry.services.handlers.provider_work import OutboxPolicy, ProviderWork
from refundry.services.ports.outbox import MessageState, OutboxMessage, Topic
from refundry.services.ports.payment_providers import ProviderRegistry
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG


class SlowGateway:
    """A card gateway that takes ``seconds`` per call and counts how many calls it has
    in flight at once; refunds stay pending (``processing``) until fetched."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self.most_in_flight = 0
        self.refunded: list[uuid.UUID] = []
        self.fetched: list[str] = []
        self._lock = threading.Lock()

    def _call(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        self._call()
        with self._lock:
            self.refunded.append(instruction.refund_id)
        return ProviderRefund(f"re_{instruction.refund_id.hex}", ProviderRefundState.PROCESSING)

    def fetch_refund(self, reference: str) -> ProviderRefund:
        self._call()
        with self._lock:
            self.fetched.append(reference)
        return ProviderRefund(reference, ProviderRefundState.COMPLETED)

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise AssertionError("not asked in these tests")

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        raise AssertionError("not asked in these tests")


NOW_DUE = OutboxPolicy(poll_base=timedelta(0), poll_ceiling=timedelta(0), jitter=lambda: 0.0)


def _work(
    uow_factory: FakeUnitOfWorkFactory, gateway: SlowGateway, policy: OutboxPolicy
) -> ProviderWork:
    return ProviderWork(uow_factory, ProviderRegistry({PaymentMethod.CARD: gateway}), policy)


def _refunds(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, count: int
) -> list[Refund]:
    orders = [given.an_order(uow_factory, merchant_id) for _ in range(count)]
    return [given.a_refund_of(uow_factory, merchant_id, order, MUG).refund for order in orders]


def _status(uow_factory: FakeUnitOfWorkFactory, refund: Refund) -> RefundStatus:
    return uow_factory.store.orders[refund.order_id].refund_by_id(refund.id).status


def test_a_batch_calls_the_gateway_side_by_side_within_its_bound_and_records_in_one_commit(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    refunds = _refunds(uow_factory, merchant_id, 12)
    gateway = SlowGateway(0.05)
    work = _work(uow_factory, gateway, replace(NOW_DUE, concurrency=4, batch_size=12))
    commits = uow_factory.store.commits

    assert provider_work.process_outbox(work) == 12

    # each refund was sent once, never more than 4 at a time, and all 4 lanes were used
    assert sorted(gateway.refunded) == sorted(refund.id for refund in refunds)
    assert gateway.most_in_flight == 4
    # one commit leased the batch, one recorded every outcome
    assert uow_factory.store.commits == commits + 2
    assert {_status(uow_factory, refund) for refund in refunds} == {RefundStatus.PROCESSING}

    # the polls are due at once here: the next batch settles them all, again side by side
    assert provider_work.process_outbox(work) == 12
    assert len(gateway.fetched) == 12
    assert {_status(uow_factory, refund) for refund in refunds} == {RefundStatus.COMPLETED}
    assert {queued.state for queued in uow_factory.store.outbox} == {MessageState.DONE}


def test_two_refunds_of_one_order_in_one_batch_are_both_recorded(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    order = given.an_order(uow_factory, merchant_id)
    first, second = (
        given.a_refund_of(uow_factory, merchant_id, order, MUG).refund for _ in range(2)
    )
    work = _work(uow_factory, SlowGateway(0.01), NOW_DUE)

    assert provider_work.process_outbox(work) == 2
    assert provider_work.process_outbox(work) == 2

    assert _status(uow_factory, first) is _status(uow_factory, second) is RefundStatus.COMPLETED


def test_an_outcome_that_cannot_be_recorded_holds_back_only_its_own_message(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    refunds = _refunds(uow_factory, merchant_id, 3)
    # a provider event stored in a shape this version cannot read (an older release's,
    # say), for the first refund's order: recording it fails
    broken = OutboxMessage(
        uuid.uuid4(),
        merchant_id,
        refunds[0].order_id,
        Topic.PROVIDER_REFUND_EVENT,
        {"unexpected": True},
        0,
        utcnow(),
    )
    with uow_factory() as uow:
        uow.outbox.add([broken], utcnow())
        uow.commit()
    work = _work(uow_factory, SlowGateway(0.0), NOW_DUE)

    assert provider_work.process_outbox(work) == 4

    # the three refunds went on; the event waits, with the reason kept
    assert {_status(uow_factory, refund) for refund in refunds} == {RefundStatus.PROCESSING}
    [kept] = [queued for queued in uow_factory.store.outbox if queued.message.id == broken.id]
    assert kept.state is MessageState.PENDING
    assert kept.leased_until is None
    assert kept.run_after > utcnow()
    assert kept.last_error is not None


def test_where_refund_events_are_expected_the_poll_is_only_a_late_fallback(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    [refund] = _refunds(uow_factory, merchant_id, 1)
    policy = OutboxPolicy(
        events_expected=True, poll_fallback=timedelta(seconds=30), jitter=lambda: 0.0
    )
    gateway = SlowGateway(0.0)
    before = utcnow()

    assert provider_work.process_outbox(_work(uow_factory, gateway, policy)) == 1

    [queued] = uow_factory.store.outbox
    assert queued.state is MessageState.PENDING
    # no poll for (half the jittered step of) the fallback: the event is expected first
    assert queued.run_after >= before + timedelta(seconds=15)
    assert provider_work.process_outbox(_work(uow_factory, gateway, policy)) == 0
    assert gateway.fetched == []
    assert _status(uow_factory, refund) is RefundStatus.PROCESSING


def test_a_worker_round_goes_batch_after_batch_and_says_when_it_left_work_waiting(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    refunds = _refunds(uow_factory, merchant_id, 10)
    gateway = SlowGateway(0.01)
    policy = replace(NOW_DUE, batch_size=4, concurrency=4, poll_base=timedelta(hours=1))
    work = _work(uow_factory, gateway, policy)

    # a round with no time to spare takes one batch, and says more is waiting
    assert provider_work.process_continuously(work, seconds=0) is True
    assert len(gateway.refunded) == 4
    # a round with time sends the rest (4, then 2: a short batch ends it)
    assert provider_work.process_continuously(work, seconds=60) is False
    assert sorted(gateway.refunded) == sorted(refund.id for refund in refunds)
    # every outcome was recorded, the last batch's too
    assert {_status(uow_factory, refund) for refund in refunds} == {RefundStatus.PROCESSING}
    assert provider_work.process_continuously(work, seconds=60) is False
