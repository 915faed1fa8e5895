"""Gift-card link rules: cancellable only while unopened, unexpired and unspent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from refundry.domain.errors import (
    InvalidAmount,
    LinkAccessed,
    LinkAlreadyCancelled,
    LinkExpired,
    LinkSpent,
)
from refundry.domain.gift_card import GiftCardLink, LinkState
from refundry.domain.money import Currency, Money

EUR = Currency.of("EUR")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def a_link(expires_in: timedelta = timedelta(days=30)) -> GiftCardLink:
    return GiftCardLink.issue(uuid.uuid4(), Money(2500, EUR), NOW + expires_in, NOW)


def test_a_new_link_is_issued_and_cancellable() -> None:
    link = a_link()
    assert link.state(NOW) is LinkState.ISSUED
    assert link.cancellation_blocker(NOW) is None
    assert len(link.token) >= 32


def test_tokens_are_unguessable_and_distinct() -> None:
    tokens = {a_link().token for _ in range(200)}
    assert len(tokens) == 200


def test_an_opened_link_cannot_be_cancelled() -> None:
    # given a link the consumer opened
    link = a_link()
    link.open(NOW + timedelta(minutes=5))
    # then cancelling names that condition
    with pytest.raises(LinkAccessed):
        link.cancel("too late", NOW + timedelta(minutes=6), by="staff:1")
    assert link.cancelled_at is None
    assert link.state(NOW + timedelta(minutes=6)) is LinkState.ACCESSED


def test_only_the_first_open_is_recorded() -> None:
    link = a_link()
    link.open(NOW + timedelta(minutes=1))
    link.open(NOW + timedelta(minutes=9))
    assert link.accessed_at == NOW + timedelta(minutes=1)


def test_an_expired_link_cannot_be_cancelled_or_opened() -> None:
    link = a_link(expires_in=timedelta(days=1))
    later = NOW + timedelta(days=1)
    assert link.state(later) is LinkState.EXPIRED
    with pytest.raises(LinkExpired):
        link.cancel(None, later, by="staff:1")
    with pytest.raises(LinkExpired):
        link.open(later)
    assert link.accessed_at is None


def test_a_spent_link_cannot_be_cancelled() -> None:
    link = a_link()
    link.spend(Money(100, EUR), NOW)
    assert link.state(NOW) is LinkState.SPENT
    assert link.balance == Money(2400, EUR)
    with pytest.raises(LinkSpent):
        link.cancel(None, NOW, by="staff:1")


def test_a_cancelled_link_is_dead_for_good() -> None:
    # given a cancelled link
    link = a_link()
    link.cancel("ordered by mistake", NOW, by="staff:1")
    # then nothing revives it: no open, no spend, no second cancel
    with pytest.raises(LinkAlreadyCancelled):
        link.open(NOW)
    with pytest.raises(LinkAlreadyCancelled):
        link.spend(Money(1, EUR), NOW)
    with pytest.raises(LinkAlreadyCancelled):
        link.cancel(None, NOW, by="staff:1")
    assert link.state(NOW + timedelta(days=400)) is LinkState.CANCELLED
    assert link.accessed_at is None
    assert link.cancel_reason == "ordered by mistake"


def test_spending_more_than_the_balance_is_refused() -> None:
    link = a_link()
    link.spend(Money(2000, EUR), NOW)
    with pytest.raises(InvalidAmount):
        link.spend(Money(501, EUR), NOW)
    assert link.balance == Money(500, EUR)
