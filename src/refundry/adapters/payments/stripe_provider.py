"""Card payments through Stripe's API, with the official SDK.

The same adapter talks to the sandbox gateway (``refundry sandbox-psp``), which speaks
the same subset of Stripe's API on a local port: the sandbox is Stripe with another
base address and a test key.

Stripe refund statuses map to ours: ``pending`` and ``requires_action`` are
processing, ``succeeded`` completed, ``failed`` and ``canceled`` failed.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import stripe

from refundry.domain.errors import ProviderRejected, ProviderUnavailable
from refundry.domain.money import Money
from refundry.domain.payments import (
    Authorization,
    ProviderRefund,
    ProviderRefundState,
    RefundInstruction,
)

STRIPE_API_BASE = "https://api.stripe.com"

REFUND_STATES = {
    "pending": ProviderRefundState.PROCESSING,
    "requires_action": ProviderRefundState.PROCESSING,
    "succeeded": ProviderRefundState.COMPLETED,
    "failed": ProviderRefundState.FAILED,
    "canceled": ProviderRefundState.FAILED,
}


class StripeProvider:
    def __init__(
        self,
        *,
        name: str,
        api_key: str,
        api_base: str = STRIPE_API_BASE,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._name = name
        # Retries are the outbox's job (with backoff, across restarts), not the SDK's.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=_HttpxClient(timeout_seconds),
            max_network_retries=0,
        )

    @property
    def name(self) -> str:
        return self._name

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        params: Any = {
            "amount": amount.minor,
            "currency": amount.currency.code.lower(),
            "capture_method": "automatic" if capture else "manual",
            "metadata": {"refundry_order_id": str(order_id)},
        }
        with _translated_errors():
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"authorize-{order_id}"}
            )
        return Authorization(intent.id, amount, expires_at=None)

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        with _translated_errors():
            self._client.v1.payment_intents.capture(
                payment_reference,
                params={"amount_to_capture": amount.minor},
                options={"idempotency_key": idempotency_key},
            )

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        with _translated_errors():
            intent = self._client.v1.payment_intents.retrieve(payment_reference)
            if intent.status == "canceled":
                return  # already released: nothing left to do
            self._client.v1.payment_intents.cancel(
                payment_reference, options={"idempotency_key": idempotency_key}
            )

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        params: Any = {
            "amount": instruction.amount.minor,
            "metadata": {
                "refundry_refund_id": str(instruction.refund_id),
                "refundry_order_id": str(instruction.order_id),
            },
        }
        if instruction.payment_reference is not None:
            params["payment_intent"] = instruction.payment_reference
        else:
            params["currency"] = instruction.amount.currency.code.lower()
        with _translated_errors():
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": str(instruction.refund_id)}
            )
        return _provider_refund(refund)

    def fetch_refund(self, reference: str) -> ProviderRefund:
        # A refund the provider accepted cannot be refused afterwards; any error here
        # (even a 404 after a switch of account or mode) is retried and shown, not final.
        with _translated_errors(refusals_are_final=False):
            refund = self._client.v1.refunds.retrieve(reference)
        return _provider_refund(refund)


class _HttpxClient(stripe.HTTPXClient):
    """The SDK's httpx client, with two changes: bodies go as ``content=`` (httpx
    deprecates raw bytes as ``data=``), and no idle connection is kept, since provider
    calls are rare and a pooled socket would outlive a discarded client."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(timeout=timeout_seconds, allow_sync_methods=True)
        if self._client is not None:
            self._client.close()
        self._client = httpx.Client(
            verify=ssl.create_default_context(cafile=stripe.ca_bundle_path),  # as the SDK does
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return [args, kwargs]


def _provider_refund(refund: stripe.Refund) -> ProviderRefund:
    state = REFUND_STATES.get(refund.status or "", ProviderRefundState.PROCESSING)
    failure = getattr(refund, "failure_reason", None)
    if state is ProviderRefundState.FAILED and not failure:
        failure = refund.status
    return ProviderRefund(refund.id, state, failure)


# Refusals that do not prove nothing was paid: after a crash and a lost idempotency key
# (Stripe keeps them 24 h) a retried refund meets its own first attempt this way.
UNCERTAIN_REFUSALS = frozenset({"charge_already_refunded", "idempotency_key_in_use"})


@contextmanager
def _translated_errors(*, refusals_are_final: bool = True) -> Iterator[None]:
    """Stripe's errors in the port's two kinds: refused for good, or worth retrying.

    Only a request the provider plainly refused (a card error, an invalid request with
    a definite answer) is final, and only where a refusal means nothing happened: when
    creating a refund, a capture or a void. Anything else, including a 200 whose body
    was cut off, a proxy's 408, an idempotency conflict and any error while reading a
    refund back, is retried: calling a refund failed makes it refundable again, so that
    must never rest on a guess. A bad API key is retried too: an operator can fix it.
    """
    try:
        yield
    except (stripe.CardError, stripe.InvalidRequestError) as error:
        status = error.http_status or 0
        definite = status in (400, 402, 404) and error.code not in UNCERTAIN_REFUSALS
        if refusals_are_final and definite:
            raise ProviderRejected(_message(error), provider_code=error.code) from error
        raise ProviderUnavailable(_message(error)) from error
    except stripe.StripeError as error:
        raise ProviderUnavailable(_message(error)) from error


def _message(error: stripe.StripeError) -> str:
    text = error.user_message or str(error) or type(error).__name__
    return " ".join(text.split())[:500]
