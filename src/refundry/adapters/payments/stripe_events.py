"""Inbound Stripe events (and the sandbox's, which signs them the same way).

The signature (``Stripe-Signature``: an HMAC of ``timestamp.body`` with the endpoint's
secret) is checked with the SDK, with Stripe's five-minute tolerance against replays
of old deliveries. Only refund events carry work for Refundry; the rest are stored
and acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import stripe

from refundry.adapters.payments.stripe_provider import REFUND_STATES
from refundry.domain.errors import ProviderEventInvalid
from refundry.domain.payments import ProviderRefund, ProviderRefundEvent, ProviderRefundState

REFUND_EVENT_TYPES = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
SIGNATURE_TOLERANCE_SECONDS = 300


class StripeEventReader:
    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret

    def read(
        self, body: bytes, signature: str | None
    ) -> tuple[str, str, ProviderRefundEvent | None]:
        """(event id, event type, the refund it is about or ``None``) of a signed event."""
        try:
            stripe.WebhookSignature.verify_header(
                body, signature, self._secret, SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise ProviderEventInvalid(
                "the Stripe-Signature header does not match this body"
            ) from error
        try:
            event = json.loads(body)
            event_id, event_type = _text(event["id"], 255), _text(event["type"], 100)
            refund = event["data"]["object"] if event_type in REFUND_EVENT_TYPES else None
        except (AttributeError, ValueError, KeyError, TypeError) as error:
            raise ProviderEventInvalid("the event is not a Stripe event object") from error
        if refund is None:
            return event_id, event_type, None
        return event_id, event_type, _refund_event(event_id, refund)


def _refund_event(event_id: str, refund: dict[str, Any]) -> ProviderRefundEvent:
    try:
        state = REFUND_STATES.get(str(refund.get("status")), ProviderRefundState.PROCESSING)
        metadata = refund.get("metadata") or {}
        failure = refund.get("failure_reason")
        if state is ProviderRefundState.FAILED and not failure:
            failure = str(refund.get("status"))
        return ProviderRefundEvent(
            event_id=event_id,
            refund=ProviderRefund(_text(refund["id"], 255), state, failure),
            amount=_amount(refund["amount"]),
            currency_code=_text(refund["currency"], 3).upper(),
            refundry_refund_id=_uuid(metadata.get("refundry_refund_id")),
            refundry_order_id=_uuid(metadata.get("refundry_order_id")),
            payment_reference=(
                None
                if refund.get("payment_intent") is None
                else _text(refund["payment_intent"], 255)
            ),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ProviderEventInvalid("the event's refund object is malformed") from error


def _text(value: object, limit: int) -> str:
    """A provider's id or code as we store it: a printable string that fits its column."""
    if not isinstance(value, str) or not 0 < len(value) <= limit or not value.isprintable():
        raise ValueError(f"expected printable text of at most {limit} characters")
    return value


def _amount(value: object) -> int:
    # Stripe sends integer minor units; anything else, or an absurd size, is not a refund.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 10**15:
        raise ValueError("expected a positive integer amount in minor units")
    return value


def _uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return uuid.UUID(value)
    return None
