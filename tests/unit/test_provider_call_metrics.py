"""Every provider call is timed and counted by how it ended: ok, rejected (the provider
said no for good), unavailable (worth retrying) or error (anything else it raised)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from refundry.adapters.payments.metered_provider import MeteredProvider
from refundry.domain.errors import ProviderRejected, ProviderUnavailable
from refundry.domain.money import Currency, Money
from refundry.domain.payments import (
    Authorization,
    ProviderRefund,
    ProviderRefundState,
    RefundInstruction,
)

CALLS = "refundry_provider_call_duration_seconds_count"


class AnsweringAsTold:
    """A provider whose refunds raise the error it is given, if any."""

    name = "test-gateway"

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        if self.error is not None:
            raise self.error
        return ProviderRefund("re_1", ProviderRefundState.PROCESSING)

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise NotImplementedError

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        raise NotImplementedError

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        raise NotImplementedError

    def fetch_refund(self, reference: str) -> ProviderRefund:
        raise NotImplementedError


def calls(outcome: str) -> float:
    labels = {"provider": "test-gateway", "operation": "refund", "outcome": outcome}
    return REGISTRY.get_sample_value(CALLS, labels) or 0.0


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (ProviderRejected("card expired"), "rejected"),
        (ProviderUnavailable("timed out"), "unavailable"),
        (KeyError("a bug"), "error"),
    ],
)
def test_a_provider_call_is_counted_by_its_outcome(error: Exception | None, outcome: str) -> None:
    provider = MeteredProvider(AnsweringAsTold(error))
    instruction = RefundInstruction(
        uuid.uuid4(), uuid.uuid4(), "pi_1", Money(100, Currency.of("EUR")), None
    )
    before = {name: calls(name) for name in ("ok", "rejected", "unavailable", "error")}
    if error is None:
        assert provider.refund(instruction).reference == "re_1"
    else:
        with pytest.raises(type(error)):
            provider.refund(instruction)
    after = {name: calls(name) for name in before}
    assert after == {**before, outcome: before[outcome] + 1}
