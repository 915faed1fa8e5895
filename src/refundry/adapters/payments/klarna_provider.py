"""Klarna payments through its Order Management API (captures, cancel, refunds).

The checkout authorizes a Klarna order and gives Refundry its ``order_id`` as the
payment reference. Klarna accepts a refund at once, so a refund it answers 201 to is
completed. A refund's reference here is ``<klarna order id>/<refund id>``: Klarna
names refunds under their order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from refundry.domain.errors import ProviderRejected, ProviderUnavailable
from refundry.domain.money import Money
from refundry.domain.payments import (
    Authorization,
    ProviderRefund,
    ProviderRefundState,
    RefundInstruction,
)

ORDERS = "/ordermanagement/v1/orders"


class KlarnaProvider:
    def __init__(
        self,
        *,
        name: str,
        api_base: str,
        username: str,
        password: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._name = name
        self._client = httpx.Client(
            base_url=api_base.rstrip("/") + ORDERS,
            auth=(username, password),
            timeout=timeout_seconds,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    @property
    def name(self) -> str:
        return self._name

    def authorize(self, order_id: uuid.UUID, amount: Money, *, capture: bool) -> Authorization:
        raise ProviderRejected(
            "Klarna authorizes in the shopper's checkout; send its order_id as the reference"
        )

    def capture(self, payment_reference: str, amount: Money, *, idempotency_key: str) -> None:
        self._call(
            "POST",
            f"/{payment_reference}/captures",
            {"captured_amount": amount.minor},
            idempotency_key,
        )

    def void_authorization(self, payment_reference: str, *, idempotency_key: str) -> None:
        self._call("POST", f"/{payment_reference}/cancel", None, idempotency_key)

    def refund(self, instruction: RefundInstruction) -> ProviderRefund:
        if instruction.payment_reference is None:
            raise ProviderRejected("the order has no Klarna order id to refund against")
        answer = self._call(
            "POST",
            f"/{instruction.payment_reference}/refunds",
            {
                "refunded_amount": instruction.amount.minor,
                "description": instruction.reason or "Refund",
                "reference": str(instruction.refund_id),
            },
            str(instruction.refund_id),
        )
        refund_id = str(answer["refund_id"])
        reference = f"{instruction.payment_reference}/{refund_id}"
        return ProviderRefund(reference, ProviderRefundState.COMPLETED)

    def fetch_refund(self, reference: str) -> ProviderRefund:
        order_id, _, refund_id = reference.partition("/")
        self._call("GET", f"/{order_id}/refunds/{refund_id}", None, None, final=False)
        return ProviderRefund(reference, ProviderRefundState.COMPLETED)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        *,
        final: bool = True,
    ) -> dict[str, Any]:
        headers = {"Klarna-Idempotency-Key": idempotency_key} if idempotency_key else {}
        with _translated_errors(refusals_are_final=final):
            response = self._client.request(method, path, json=body, headers=headers)
            response.raise_for_status()
            if response.status_code == 204 or not response.content:
                return {}
            answer: dict[str, Any] = response.json()
            return answer


@contextmanager
def _translated_errors(*, refusals_are_final: bool) -> Iterator[None]:
    """A 400, 403 or 404 from Klarna is a plain refusal (nothing happened); anything
    else, and any failure while reading back, is retried: see the Stripe adapter."""
    try:
        yield
    except httpx.HTTPStatusError as error:
        status = error.response.status_code
        detail = f"Klarna answered {status}: {error.response.text[:300]}"
        if refusals_are_final and status in (400, 403, 404):
            raise ProviderRejected(detail, provider_code=_code(error.response)) from error
        raise ProviderUnavailable(detail) from error
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderUnavailable(f"Klarna did not answer: {error}") from error


def _code(response: httpx.Response) -> str | None:
    try:
        code = response.json().get("error_code")
    except ValueError:
        return None
    return None if code is None else str(code)
