"""Sends a webhook over HTTP, signed to the Standard Webhooks specification.

The ``webhook-id`` header is the event id (the same on every attempt, so receivers can
drop repeats), ``webhook-timestamp`` is the attempt's time, and ``webhook-signature``
holds one ``v1,<base64 HMAC-SHA256>`` per signing secret, space-separated: during a
secret rotation's grace period both secrets sign and a receiver holding either verifies.

The timeout bounds the whole request (name lookup, connect, headers, the first bytes of
the answer): the socket's timeout bounds each read, and a receiver trickling its answer a
byte at a time would otherwise hold a worker, and outlive the delivery's lease. Requests
may be sent from several threads at once.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.request import getproxies_environment

import httpx
from standardwebhooks.webhooks import Webhook

from refundry.adapters.webhooks.connections import KeepAliveConnections, target
from refundry.domain.webhooks import DeliveryAttempt, is_private_ip

EXCERPT_BYTES = 1024
USER_AGENT = "Refundry-Webhooks/1"
HEADERS = {"user-agent": USER_AGENT, "accept": "*/*", "accept-encoding": "identity"}


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
    return any(
        is_private_ip(ipaddress.ip_address(str(address).split("%")[0])) for address in addresses
    )


class HttpWebhookSender:
    """Connections are kept alive and shared by all endpoints and sending threads;
    redirects are not followed (a 3xx is a failure, as at Stripe: the merchant fixes the
    URL instead). With a proxy named in the environment (``HTTPS_PROXY`` and the like)
    requests go through httpx, which honours it, as they all did before."""

    def __init__(self, timeout: timedelta, *, allow_private_networks: bool = False) -> None:
        self._timeout = timeout.total_seconds()
        self._allow_private_networks = allow_private_networks
        self._connections = KeepAliveConnections(self._timeout)
        self._through_proxy: httpx.Client | None = None
        if any(scheme in getproxies_environment() for scheme in ("http", "https", "all")):
            self._through_proxy = httpx.Client(
                timeout=self._timeout, follow_redirects=False, headers=HEADERS
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
        # deadline; an abandoned request ends by itself at the per-read timeout.
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
        deadline = started + self._timeout
        try:
            where = target(url)
            # The name the connection will look up (IDNA 2008, as httpx encodes it), not the
            # Unicode one: Python's getaddrinfo encodes that with IDNA 2003, and the two can
            # name different domains (straße.example: strasse vs xn--strae-oqa).
            host = where.connect_host
            if not self._allow_private_networks and is_private_address(host):
                return None, None, f"refused: {where.host} is a private or loopback address"
            if self._through_proxy is None:
                status, excerpt = self._connections.post(
                    url, body.encode(), {**HEADERS, **headers}, deadline, EXCERPT_BYTES
                )
            else:
                status, excerpt = _post_with(self._through_proxy, url, body, headers, deadline)
            ok = 200 <= status < 300
            return status, _text(excerpt), None if ok else f"HTTP {status}"
        except (TimeoutError, httpx.TimeoutException):
            return None, None, "timed out"
        except Exception as failure:  # whatever went wrong is this attempt's outcome
            return None, None, f"{type(failure).__name__}: {failure}"[:500]

    def close(self) -> None:
        self._connections.close()
        if self._through_proxy is not None:
            self._through_proxy.close()


def _post_with(
    client: httpx.Client, url: str, body: str, headers: dict[str, str], deadline: float
) -> tuple[int, bytes]:
    with client.stream("POST", url, content=body.encode(), headers=headers) as answer:
        collected = b""
        for chunk in answer.iter_bytes():
            collected += chunk
            if len(collected) >= EXCERPT_BYTES or time.perf_counter() > deadline:
                break
        return answer.status_code, collected


def _text(excerpt: bytes) -> str | None:
    """The start of the answer, for the delivery log."""
    if not excerpt:
        return None
    return excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")
