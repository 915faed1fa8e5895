"""Store credit use cases on the fakes: spent at checkout under the account's lock,
credited by the bus when a refund completes, adjusted, and swept when it expires."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refundry.domain.errors import RefundExceedsRefundable, StoreCreditInsufficient
from refundry.domain.order import Order, RefundRequest
from refundry.domain.refund import RefundMethod
from refundry.domain.store_credit import StoreCreditAccount, StoreCreditEntryKind, replay
from refundry.domain.webhooks import EventType
from refundry.services.handlers import merchants, store_credit, store_credit_expiry
from refundry.services.handlers.orders import PlaceOrder, ingest_order
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refunds import refund_order
from refundry.services.transactions import read, run
from refundry.services.unit_of_work import UnitOfWork
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given as steps

CUSTOMER = steps.CUSTOMER.email  # the checkout sent no customer id: the email keys it
SIGNER = QuoteSigner(b"handler-tests")
START = datetime(2026, 12, 1, tzinfo=UTC)
CLOCKS = (
    "refundry.services.handlers.orders.utcnow",
    "refundry.services.handlers.refunds.utcnow",
    "refundry.services.handlers.store_credit.utcnow",
    "refundry.services.handlers.store_credit_expiry.utcnow",
    "refundry.services.messagebus.utcnow",
)


@contextmanager
def clock_at(moments: list[datetime]) -> Iterator[None]:
    """Every use case reads ``moments[0]`` as now (the test moves it)."""
    patches = [mock.patch(target, side_effect=lambda: moments[0]) for target in CLOCKS]
    for patch in patches:
        patch.start()
    try:
        yield
    finally:
        for patch in patches:
            patch.stop()


def grant(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, amount: int) -> None:
    run(
        uow_factory,
        lambda uow: store_credit.adjust(
            uow, merchant_id, CUSTOMER, "EUR", amount, "goodwill", "staff:1"
        ),
    )


def checkout(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, amount: int) -> Order:
    command = PlaceOrder(
        merchant_id=merchant_id,
        external_id=None,
        customer=steps.CUSTOMER,
        currency_code="EUR",
        lines=[steps.MUGS, steps.A_TEAPOT],
        shipping_amount=490,
        shipping_tax=98,
        store_credit=amount,
    )
    return run(uow_factory, lambda uow: ingest_order(uow, command))


def refund(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int | None,
    method: RefundMethod | None = None,
) -> uuid.UUID:
    request = RefundRequest.full() if amount is None else RefundRequest(amount=amount)
    made = run(
        uow_factory,
        lambda uow: refund_order(
            uow, SIGNER, merchant_id, order_id, request, method=method, reason=None,
            quote=None, actor="api_key:1",
        ),
    )  # fmt: skip
    return made.refund.id


def accounts(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> list[StoreCreditAccount]:
    return read(uow_factory, lambda uow: uow.store_credit.accounts(merchant_id, CUSTOMER))


def ledger(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> list[tuple[StoreCreditEntryKind, int]]:
    [account] = accounts(uow_factory, merchant_id)
    return [(entry.kind, entry.amount) for entry in account.entries]


def test_a_checkout_spends_credit_and_one_beyond_the_balance_writes_nothing(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    grant(uow_factory, merchant_id, 3000)
    order = checkout(uow_factory, merchant_id, 2000)
    assert order.payment.store_credit is not None
    assert ledger(uow_factory, merchant_id) == [
        (StoreCreditEntryKind.ADJUSTED, 3000),
        (StoreCreditEntryKind.SPENT, -2000),
    ]
    commits = uow_factory.store.commits
    with pytest.raises(StoreCreditInsufficient):
        checkout(uow_factory, merchant_id, 1001)
    assert uow_factory.store.commits == commits  # rolled back: no order, no entry
    assert len(uow_factory.store.orders) == 1


def test_the_bus_credits_a_refund_when_it_completes_and_tells_webhooks(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    endpoint = steps.a_webhook_endpoint(uow_factory, merchant_id, [EventType.STORE_CREDIT_UPDATED])
    grant(uow_factory, merchant_id, 1000)
    order = checkout(uow_factory, merchant_id, 1000)
    refund_id = refund(uow_factory, merchant_id, order.id, None)
    # the store credit part waits for the provider
    assert ledger(uow_factory, merchant_id)[-1] == (StoreCreditEntryKind.SPENT, -1000)

    def completes(uow: UnitOfWork) -> None:
        found = uow.orders.get(merchant_id, order.id)
        found.complete_refund(refund_id, datetime.now(UTC))

    run(uow_factory, completes)
    assert ledger(uow_factory, merchant_id)[-1] == (StoreCreditEntryKind.ISSUED, 1000)
    events = [
        e for e in uow_factory.store.webhook_events if e.type is EventType.STORE_CREDIT_UPDATED
    ]
    assert [event.sequence for event in events] == [1, 2, 3]
    assert {delivery.endpoint_id for delivery in uow_factory.store.webhook_deliveries} == {
        endpoint.id
    }


def test_the_sweep_writes_off_expired_credit_once(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    moments = [START]
    with clock_at(moments):
        run(
            uow_factory,
            lambda uow: merchants.update_merchant(uow, merchant_id, store_credit_validity_days=10),
        )
        grant(uow_factory, merchant_id, 700)
        assert store_credit_expiry.expire_due(uow_factory) == 0
        moments[0] = START + timedelta(days=10)
        assert store_credit_expiry.expire_due(uow_factory) == 1
        assert store_credit_expiry.expire_due(uow_factory) == 0
    assert ledger(uow_factory, merchant_id) == [
        (StoreCreditEntryKind.ADJUSTED, 700),
        (StoreCreditEntryKind.EXPIRED, -700),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("grant"), st.integers(1, 12000)),
            st.tuples(st.just("checkout"), st.integers(1, 9962)),
            st.tuples(st.just("refund"), st.integers(0, 9962)),
            st.tuples(st.just("refund_to_credit"), st.integers(1, 3000)),
            st.tuples(st.just("settle"), st.sampled_from(["complete", "fail"])),
            st.tuples(st.just("wait"), st.integers(1, 15)),
            st.tuples(st.just("sweep"), st.just(0)),
        ),
        max_size=14,
    )
)
def test_any_sequence_keeps_every_balance_its_ledgers_sum_and_never_negative(
    history: list[tuple[str, object]],
) -> None:
    uow_factory = FakeUnitOfWorkFactory()
    moments = [START]
    with clock_at(moments):
        merchant_id = steps.a_merchant(uow_factory)
        run(
            uow_factory,
            lambda uow: merchants.update_merchant(uow, merchant_id, store_credit_validity_days=7),
        )
        orders: list[uuid.UUID] = []
        for action, value in history:
            assert isinstance(value, int | str)
            try:
                if action == "grant":
                    grant(uow_factory, merchant_id, int(value))
                elif action == "checkout":
                    orders.append(checkout(uow_factory, merchant_id, int(value)).id)
                elif action in ("refund", "refund_to_credit") and orders:
                    amount = None if value == 0 else int(value)
                    method = RefundMethod.STORE_CREDIT if action == "refund_to_credit" else None
                    refund(uow_factory, merchant_id, orders[-1], amount, method)
                elif action == "settle":
                    _settle_all(uow_factory, merchant_id, str(value))
                elif action == "wait":
                    moments[0] += timedelta(days=int(value))
                elif action == "sweep":
                    store_credit_expiry.expire_due(uow_factory)
            except (StoreCreditInsufficient, RefundExceedsRefundable):
                pass
            for account in accounts(uow_factory, merchant_id):
                replayed = replay(account.entries)
                assert replayed.overdrawn == 0
                assert replayed.lowest_balance >= 0
                assert replayed.balance == account.balance.minor
                assert 0 <= account.available(moments[0]).minor <= account.balance.minor
        # every refund's store credit part is credited once, and only once it settled
        _settle_all(uow_factory, merchant_id, "complete")
        issued = {
            entry.refund_id: entry.amount
            for account in accounts(uow_factory, merchant_id)
            for entry in account.entries
            if entry.kind is StoreCreditEntryKind.ISSUED
        }
        expected = {
            refund.id: refund.store_credit_value.minor
            for order in uow_factory.store.orders.values()
            for refund in order.refunds
            if refund.is_settled and refund.store_credit_value and refund.store_credit_value.minor
        }
        assert issued == expected


def _settle_all(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID, outcome: str) -> None:
    def settle(uow: UnitOfWork) -> None:
        for order_id in list(uow_factory.store.orders):
            order = uow.orders.get(merchant_id, order_id)
            for made in order.refunds:
                if made.is_pending and outcome == "complete":
                    order.complete_refund(made.id, START)
                elif made.is_pending:
                    order.fail_refund(made.id, "declined", START)

    run(uow_factory, settle)
