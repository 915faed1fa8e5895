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

import contextlib
import ssl
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.request import getproxies_environment

import httpx
from standardwebhooks.webhooks import Webhook

from refundry.adapters.webhooks.addresses import (
    OpenSocket,
    PrivateAddressError,
    Resolve,
    open_tcp_socket,
    public_addresses,
    resolve_name,
)
from refundry.adapters.webhooks.connections import KeepAliveConnections, target
from refundry.domain.webhooks import DeliveryAttempt

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


class HttpWebhookSender:
    """Connections are kept alive and shared by all endpoints and sending threads;
    redirects are not followed (a 3xx is a failure, as at Stripe: the merchant fixes the
    URL instead). With a proxy named in the environment (``HTTPS_PROXY`` and the like)
    requests go through httpx, which honours it, as they all did before.

    Unless ``allow_private_networks``, a URL's name is looked up with ``resolve`` and a
    delivery is refused if any address is loopback, private, link-local or reserved (a
    merchant's URL must not make the worker call the platform's own network); the
    connection goes to an address that was checked (``addresses.py``). Through a proxy the
    proxy connects, by name: the check is made, the address cannot be held to."""

    def __init__(
        self,
        timeout: timedelta,
        *,
        allow_private_networks: bool = False,
        resolve: Resolve = resolve_name,
        open_socket: OpenSocket = open_tcp_socket,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout.total_seconds()
        self._resolve: Resolve | None = None if allow_private_networks else resolve
        self._connections = KeepAliveConnections(
            self._timeout, resolve=self._resolve, open_socket=open_socket, ssl_context=ssl_context
        )
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
            if self._through_proxy is None:
                status, excerpt = self._connections.post(
                    url, body.encode(), {**HEADERS, **headers}, deadline, EXCERPT_BYTES
                )
            else:
                self._check_before_proxy(url)
                status, excerpt = _post_with(self._through_proxy, url, body, headers, deadline)
            ok = 200 <= status < 300
            return status, _text(excerpt), None if ok else f"HTTP {status}"
        except PrivateAddressError as refused:
            return None, None, str(refused)
        except (TimeoutError, httpx.TimeoutException):
            return None, None, "timed out"
        except Exception as failure:  # whatever went wrong is this attempt's outcome
            return None, None, f"{type(failure).__name__}: {failure}"[:500]

    def _check_before_proxy(self, url: str) -> None:
        """Refuses a name that resolves to a private address here; one that does not
        resolve here goes to the proxy, which may resolve it (egress through a proxy often
        has no name server of its own)."""
        if self._resolve is None:
            return
        where = target(url)
        with contextlib.suppress(OSError, UnicodeError):
            public_addresses(where.connect_host, where.port, self._resolve, named_as=where.host)

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
