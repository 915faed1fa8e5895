"""A payment provider whose every call is timed and counted by outcome
(``refundry_provider_call_duration_seconds``), whoever makes it: the worker's refunds and
voids, the API's authorizations and captures."""

from __future__ import annotations

import uuid

from refundry.adapters.metrics import provider_call
from refundry.domain.money import Money
from refundry.domain.payments import (
    Authorization,
    PaymentProvider,
    ProviderRefund,
    RefundInstruction,
)


class MeteredProvider:
    def __init__(self, provider: PaymentProvider) -> None:
        self._provider = provider

    @property
    def name(self) -> str:
        return self._provider.name

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        with provider_call(self.name, "authorize"):
            return self._provider.authorize(order_id, amount, capture=capture)

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        with provider_call(self.name, "capture"):
            self._provider.capture(payment_reference, amount, idempotency_key=idempotency_key)

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        with provider_call(self.name, "void_authorization"):
            self._provider.void_authorization(payment_reference, idempotency_key=idempotency_key)

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        with provider_call(self.name, "refund"):
            return self._provider.refund(instruction)

    def fetch_refund(self, reference: str) -> ProviderRefund:
        with provider_call(self.name, "fetch_refund"):
            return self._provider.fetch_refund(reference)
