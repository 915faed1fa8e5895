"""Sends a webhook over HTTP, signed to the Standard Webhooks specification.

The ``webhook-id`` header is the event id (the same on every attempt, so receivers can
drop repeats), ``webhook-timestamp`` is the attempt's time, and ``webhook-signature``
holds one ``v1,<base64 HMAC-SHA256>`` per signing secret, space-separated: during a
secret rotation's grace period both secrets sign and a receiver holding either verifies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from refundry.domain.webhooks import DeliveryAttempt

EXCERPT_BYTES = 1024
USER_AGENT = "Refundry-Webhooks/1"


def signature_headers(
    message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=now.astimezone(UTC), data=body)
        for secret in signing_secrets
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class HttpWebhookSender:
    """One connection pool for all endpoints; redirects are not followed (a 3xx is a
    failure, as at Stripe: the merchant fixes the URL instead)."""

    def __init__(self, timeout: timedelta) -> None:
        self._timeout = timeout.total_seconds()
        self._client = httpx.Client(
            timeout=timeout.total_seconds(),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt:
        headers = {
            "content-type": "application/json",
            **signature_headers(message_id, body, signing_secrets, now),
        }
        started = time.perf_counter()
        try:
            with self._client.stream("POST", url, content=body.encode(), headers=headers) as answer:
                excerpt = _first_bytes(answer, deadline=started + self._timeout)
                status: int | None = answer.status_code
                error = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
        except httpx.TimeoutException:
            status, excerpt, error = None, None, "timed out"
        except httpx.HTTPError as failure:
            status, excerpt, error = None, None, f"{type(failure).__name__}: {failure}"[:500]
        latency_ms = round((time.perf_counter() - started) * 1000)
        return DeliveryAttempt(now, status, latency_ms, excerpt, error)

    def close(self) -> None:
        self._client.close()


def _first_bytes(answer: httpx.Response, deadline: float) -> str | None:
    """The start of the answer, for the delivery log; the rest is never read.

    httpx's timeout bounds each read, not the whole answer, so a receiver trickling
    bytes is cut off here once the request's own time is up (the status is known).
    """
    collected = b""
    for chunk in answer.iter_raw():
        collected += chunk
        if len(collected) >= EXCERPT_BYTES or time.perf_counter() > deadline:
            break
    if not collected:
        return None
    return collected[:EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")
