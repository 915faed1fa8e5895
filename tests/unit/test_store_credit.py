"""Store credit's rules: the account's ledger (earliest expiry spent first, expired credit
written off, never below zero) and an order's refunds giving the store credit it spent
back first, credited only when a refund completes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refundry.domain.errors import (
    InvalidInput,
    InvalidOrder,
    StoreCreditInsufficient,
    StoreCreditNotAllowed,
)
from refundry.domain.events import RefundRequested, StoreCreditIssued
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    NewLine,
    Order,
    PaymentMethod,
    RefundRequest,
    place_order,
)
from refundry.domain.refund import RefundMethod, RefundStatus
from refundry.domain.store_credit import (
    StoreCreditAccount,
    StoreCreditEntryKind,
    available,
    balance,
    replay,
)

EUR = Currency.of("EUR")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def an_account() -> StoreCreditAccount:
    return StoreCreditAccount(uuid.uuid4(), uuid.uuid4(), "cust-ana", EUR)


def eur(minor: int) -> Money:
    return Money(minor, EUR)


def issue(account: StoreCreditAccount, amount: int, at: datetime, days: int | None) -> None:
    account.issue(eur(amount), at, validity_days=days, order_id=None, refund_id=uuid.uuid4())


# ------------------------------------------------------------------ the account
def test_a_spend_takes_the_credit_that_expires_first() -> None:
    account = an_account()
    issue(account, 500, NOW, None)  # never expires
    issue(account, 300, NOW, 30)
    issue(account, 200, NOW, 10)
    account.spend(eur(400), NOW + timedelta(days=1), order_id=uuid.uuid4())
    # the 10-day credit went first, then 200 of the 30-day one
    assert [lot.remaining for lot in replay(account.entries).lots] == [500, 100, 0]
    # so when the 30-day credit expires, only its last 100 are lost
    later = NOW + timedelta(days=31)
    assert account.available(later) == eur(500)
    expired = account.expire(later)
    assert expired is not None
    assert (expired.kind, expired.amount) == (StoreCreditEntryKind.EXPIRED, -100)
    assert account.balance == eur(500) == account.available(later)


def test_expired_credit_stops_counting_before_it_is_written_off() -> None:
    account = an_account()
    issue(account, 800, NOW, 7)
    assert account.available(NOW + timedelta(days=6)) == eur(800)
    assert account.available(NOW + timedelta(days=7)) == eur(0)
    assert account.balance == eur(800)  # the sweep has not written it off yet
    with pytest.raises(StoreCreditInsufficient):
        account.spend(eur(1), NOW + timedelta(days=8), order_id=uuid.uuid4())


def test_a_change_writes_off_expired_credit_before_its_own_entry() -> None:
    account = an_account()
    issue(account, 800, NOW, 7)
    issue(account, 100, NOW + timedelta(days=8), None)
    assert [(entry.kind, entry.amount) for entry in account.entries] == [
        (StoreCreditEntryKind.ISSUED, 800),
        (StoreCreditEntryKind.EXPIRED, -800),
        (StoreCreditEntryKind.ISSUED, 100),
    ]
    assert [entry.sequence for entry in account.entries] == [1, 2, 3]


def test_spending_beyond_what_is_available_is_refused_and_writes_nothing() -> None:
    account = an_account()
    issue(account, 300, NOW, None)
    with pytest.raises(StoreCreditInsufficient) as refused:
        account.spend(eur(301), NOW, order_id=uuid.uuid4())
    assert refused.value.extensions == {"balance": 300, "requested": 301, "currency": "EUR"}
    assert len(account.entries) == 1
    with pytest.raises(InvalidInput):
        account.spend(eur(0), NOW, order_id=uuid.uuid4())
    with pytest.raises(InvalidInput):
        account.spend(Money(1, Currency.of("USD")), NOW, order_id=uuid.uuid4())


def test_adjustments_need_a_note_and_never_take_the_balance_below_zero() -> None:
    account = an_account()
    account.adjust(eur(1000), NOW, note="goodwill", validity_days=30)
    assert account.entries[0].expires_at == NOW + timedelta(days=30)
    with pytest.raises(StoreCreditInsufficient):
        account.adjust(eur(-1001), NOW, note="typo", validity_days=None)
    with pytest.raises(InvalidInput):
        account.adjust(eur(5), NOW, note="  ", validity_days=None)
    with pytest.raises(InvalidInput):
        account.adjust(eur(0), NOW, note="nothing", validity_days=None)
    account.adjust(eur(-1000), NOW, note="granted twice", validity_days=None)
    assert account.balance == eur(0)


def test_a_refund_is_credited_once() -> None:
    account = an_account()
    refund_id = uuid.uuid4()
    assert account.issue(eur(10), NOW, validity_days=None, order_id=None, refund_id=refund_id)
    again = account.issue(eur(10), NOW, validity_days=None, order_id=None, refund_id=refund_id)
    assert again is None
    assert account.balance == eur(10)


# One step of a customer's life: credit issued (with or without expiry), a spend (maybe
# refused), a grant or correction, time passing, the sweep.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.integers(1, 5000), st.sampled_from([None, 1, 5, 30])),
        st.tuples(st.just("spend"), st.integers(1, 6000), st.none()),
        st.tuples(st.just("adjust"), st.integers(-3000, 3000).filter(bool), st.none()),
        st.tuples(st.just("wait"), st.integers(0, 20), st.none()),
        st.tuples(st.just("sweep"), st.none(), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_any_sequence_keeps_the_balance_the_ledgers_sum_and_never_negative(
    history: list[tuple[str, int | None, int | None]],
) -> None:
    account = an_account()
    now = NOW
    for action, amount, days in history:
        try:
            if action == "issue":
                assert amount is not None
                issue(account, amount, now, days)
            elif action == "spend":
                assert amount is not None
                account.spend(eur(amount), now, order_id=uuid.uuid4())
            elif action == "adjust":
                assert amount is not None
                account.adjust(eur(amount), now, note="support", validity_days=10)
            elif action == "wait":
                assert amount is not None
                now += timedelta(days=amount)
            else:
                account.expire(now)
        except StoreCreditInsufficient:
            pass  # refused: it wrote nothing but the write-off of expired credit
        replayed = replay(account.entries)
        assert replayed.overdrawn == 0
        assert replayed.lowest_balance >= 0
        assert replayed.balance == balance(account.entries) == account.balance.minor
        assert 0 <= available(account.entries, now) <= account.balance.minor
        assert [entry.sequence for entry in account.entries] == list(
            range(1, len(account.entries) + 1)
        )
    account.expire(now)
    assert account.available(now) == account.balance  # nothing expired is left on it


# ------------------------------------------------------------------ an order's refunds
def an_order(store_credit: int | None, method: PaymentMethod = PaymentMethod.CARD) -> Order:
    order = place_order(
        merchant_id=uuid.uuid4(),
        external_id=None,
        customer=Customer("ana@example.com", "cust-ana"),
        currency=EUR,
        lines=[NewLine("MUG", "Mug", LineKind.PHYSICAL, 3, 1000, discount=0, tax=200)],
        shipping_amount=500,
        shipping_tax=0,
        payment_method=method,
        capture_mode=CaptureMode.AUTOMATIC,
        authorized=None,
        captured=None,
        now=NOW,
        store_credit=store_credit,
    )
    order.events.clear()
    return order


def credited(order: Order) -> int:
    return sum(event.amount for event in order.events if isinstance(event, StoreCreditIssued))


def test_store_credit_paying_the_total_makes_the_method_store_credit() -> None:
    order = an_order(3700)
    assert order.payment.method is PaymentMethod.STORE_CREDIT
    assert order.payment.captured == eur(3700)
    assert order.payment.money_captured == eur(0)
    refund = order.refund(RefundRequest.full(), method=None, reason=None, created_by="t", now=NOW)
    assert (refund.method, refund.status) == (RefundMethod.STORE_CREDIT, RefundStatus.COMPLETED)
    assert credited(order) == 3700
    assert not any(isinstance(event, RefundRequested) for event in order.events)


@pytest.mark.parametrize(
    ("store_credit", "method"),
    [
        (0, PaymentMethod.CARD),
        (3701, PaymentMethod.CARD),
        (100, PaymentMethod.STORE_CREDIT),
        (100, PaymentMethod.FLOAT),
        (3700, PaymentMethod.KLARNA),
    ],
)
def test_store_credit_that_cannot_pay_the_order_is_refused(
    store_credit: int, method: PaymentMethod
) -> None:
    with pytest.raises(InvalidOrder):
        an_order(store_credit, method)


def test_a_float_paid_order_cannot_be_refunded_to_store_credit() -> None:
    order = an_order(None, PaymentMethod.FLOAT)
    with pytest.raises(StoreCreditNotAllowed):
        order.refund_method(RefundMethod.STORE_CREDIT)


def test_a_refund_gives_the_store_credit_back_before_any_money() -> None:
    order = an_order(1000)
    first = order.refund(RefundRequest(amount=600), method=None, reason=None, created_by="t",
                         now=NOW)  # fmt: skip
    assert (first.store_credit_value, first.money_amount) == (eur(600), eur(0))
    assert first.status is RefundStatus.COMPLETED  # nothing to send: credited at once
    second = order.refund(RefundRequest(amount=1000), method=None, reason=None, created_by="t",
                          now=NOW)  # fmt: skip
    assert (second.store_credit_value, second.money_amount) == (eur(400), eur(600))
    assert second.status is RefundStatus.STARTED
    assert credited(order) == 600  # the second is credited when the provider settles it
    order.complete_refund(second.id, NOW)
    assert credited(order) == 1000
    assert order.store_credit_returnable == eur(0)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 3700),
    st.lists(
        st.tuples(st.integers(1, 1500), st.sampled_from(["complete", "fail", "pending"])),
        max_size=8,
    ),
)
def test_refunds_with_failures_give_back_exactly_the_store_credit_spent(
    spent: int, refunds: list[tuple[int, str]]
) -> None:
    order = an_order(spent)
    pending = []
    for amount, outcome in refunds:
        if amount > order.refundable.minor:
            continue
        made = order.refund(RefundRequest(amount=amount), method=None, reason=None,
                            created_by="t", now=NOW)  # fmt: skip
        assert made.store_credit_value is not None or order.store_credit_returnable.minor == 0
        assert made.money_amount.minor >= 0
        if made.is_pending and outcome == "complete":
            order.complete_refund(made.id, NOW)
        elif made.is_pending and outcome == "fail":
            order.fail_refund(made.id, "declined", NOW)
        elif made.is_pending:
            pending.append(made.id)
        assert credited(order) <= spent  # never more than it spent, failures included
    if order.refundable.minor:
        order.refund(RefundRequest(amount=order.refundable.minor), method=None, reason=None,
                     created_by="t", now=NOW)  # fmt: skip
    for refund in order.refunds:
        if refund.is_pending:
            order.complete_refund(refund.id, NOW)
    # a full refund, whatever failed on the way, gives back the store credit and the money
    assert credited(order) == spent
    money = sum(r.money_amount.minor for r in order.refunds if r.counts_against_cap)
    assert money == order.payment.captured.minor - spent
