"""Refund quotes: what "Review refund" showed, bound to the order's version.

A quote is a signed token carrying the order id, the order version and a digest of
the previewed breakdown. A refund sent with it commits exactly those amounts, or
fails: ``quote-stale`` if the order changed since, ``quote-mismatch`` if the request
differs, ``quote-expired`` after its time to live.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from refundry.domain.errors import QuoteExpired, QuoteInvalid, QuoteMismatch, QuoteStale
from refundry.domain.order import Order
from refundry.domain.refund import RefundBreakdown, RefundMethod

DEFAULT_QUOTE_TTL = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Quote:
    token: str
    expires_at: datetime


def breakdown_digest(breakdown: RefundBreakdown, method: RefundMethod) -> str:
    parts = {
        "method": method.value,
        "lines": [
            [str(line.order_line_id), line.quantity, line.restocked_quantity, line.amount.minor]
            for line in breakdown.lines
        ],
        "shipping": breakdown.shipping.minor,
        "shipping_tax": breakdown.shipping_tax.minor,
        "goodwill": breakdown.goodwill.minor,
        "adjustment": breakdown.adjustment.minor,
        "fees": breakdown.fees.minor,
        "total": breakdown.total.minor,
    }
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class QuoteSigner:
    def __init__(self, key: bytes, ttl: timedelta = DEFAULT_QUOTE_TTL) -> None:
        self._key = key
        self._ttl = ttl

    def issue(
        self, order: Order, breakdown: RefundBreakdown, method: RefundMethod, now: datetime
    ) -> Quote:
        expires_at = now + self._ttl
        payload = {
            "m": order.merchant_id.hex,
            "o": order.id.hex,
            "v": order.version,
            "d": breakdown_digest(breakdown, method),
            "e": int(expires_at.timestamp()),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return Quote(f"{body}.{self._sign(body)}", expires_at)

    def verify(
        self,
        token: str,
        order: Order,
        breakdown: RefundBreakdown,
        method: RefundMethod,
        now: datetime,
    ) -> None:
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise QuoteInvalid("the quote is not one Refundry issued")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            merchant_id, order_id = uuid.UUID(payload["m"]), uuid.UUID(payload["o"])
            version, digest, expires = int(payload["v"]), str(payload["d"]), int(payload["e"])
        except (ValueError, KeyError, TypeError) as error:
            raise QuoteInvalid("the quote cannot be read") from error
        if merchant_id != order.merchant_id or order_id != order.id:
            raise QuoteInvalid("the quote is for another order")
        if now.timestamp() > expires:
            raise QuoteExpired("the quote expired; preview the refund again")
        if version != order.version:
            raise QuoteStale(
                "the order changed since this refund was previewed; preview it again",
                quoted_version=version,
                current_version=order.version,
            )
        if digest != breakdown_digest(breakdown, method):
            raise QuoteMismatch("the refund request differs from the previewed one")

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:24])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
