"""Sends a webhook over HTTP, signed to the Standard Webhooks specification.

The ``webhook-id`` header is the event id (the same on every attempt, so receivers can
drop repeats), ``webhook-timestamp`` is the attempt's time, and ``webhook-signature``
holds one ``v1,<base64 HMAC-SHA256>`` per signing secret, space-separated: during a
secret rotation's grace period both secrets sign and a receiver holding either verifies.

The timeout bounds the whole request (name lookup, connect, headers, the first bytes of
the answer): httpx's own timeout bounds each read, and a receiver trickling its answer a
byte at a time would otherwise hold a worker, and outlive the delivery's lease.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
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


def is_private_address(host: str) -> bool:
    """Whether ``host`` names or resolves to loopback, private, link-local or reserved space
    (a merchant's URL must not make the worker call the platform's own network)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # unresolvable: the request itself fails and says so
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return True
    return False


class HttpWebhookSender:
    """One connection pool for all endpoints; redirects are not followed (a 3xx is a
    failure, as at Stripe: the merchant fixes the URL instead)."""

    def __init__(self, timeout: timedelta, *, allow_private_networks: bool = False) -> None:
        self._timeout = timeout.total_seconds()
        self._allow_private_networks = allow_private_networks
        self._client = httpx.Client(
            timeout=self._timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
        )

    def send(
        self, url: str, message_id: str, body: str, signing_secrets: Sequence[str], now: datetime
    ) -> DeliveryAttempt:
        headers = {
            "content-type": "application/json",
            **signature_headers(message_id, body, signing_secrets, now),
        }
        started = time.perf_counter()
        answered: list[tuple[int | None, str | None, str | None]] = []
        # The request runs in a thread of its own so that this one can stop waiting at the
        # deadline; an abandoned request ends by itself at httpx's per-read timeout.
        request = threading.Thread(
            target=lambda: answered.append(self._post(url, body, headers, started)),
            name="webhook-request",
            daemon=True,
        )
        request.start()
        request.join(self._timeout)
        latency_ms = round((time.perf_counter() - started) * 1000)
        if not answered:
            return DeliveryAttempt(
                now, None, latency_ms, None, f"timed out after {self._timeout:g} s"
            )
        status, excerpt, error = answered[0]
        return DeliveryAttempt(now, status, latency_ms, excerpt, error)

    def _post(
        self, url: str, body: str, headers: dict[str, str], started: float
    ) -> tuple[int | None, str | None, str | None]:
        try:
            host = httpx.URL(url).host
            if not self._allow_private_networks and is_private_address(host):
                return None, None, f"refused: {host} is a private or loopback address"
            with self._client.stream("POST", url, content=body.encode(), headers=headers) as answer:
                excerpt = _first_bytes(answer, deadline=started + self._timeout)
                ok = 200 <= answer.status_code < 300
                return answer.status_code, excerpt, None if ok else f"HTTP {answer.status_code}"
        except httpx.TimeoutException:
            return None, None, "timed out"
        except Exception as failure:  # whatever went wrong is this attempt's outcome
            return None, None, f"{type(failure).__name__}: {failure}"[:500]

    def close(self) -> None:
        self._client.close()


def _first_bytes(answer: httpx.Response, deadline: float) -> str | None:
    """The start of the answer, for the delivery log; the rest is never read."""
    collected = b""
    for chunk in answer.iter_bytes():
        collected += chunk
        if len(collected) >= EXCERPT_BYTES or time.perf_counter() > deadline:
            break
    if not collected:
        return None
    return collected[:EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")
