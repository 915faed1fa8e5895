"""Webhooks: what a merchant subscribes to, and when a failing delivery is tried again.

Event types (seed 004 names the first three):

- ``cancelled``: an order, or one item of it, was cancelled.
- ``refunded``: money was given back after settlement.
- ``auto_refunded``: Refundry reversed a redeem order whose transaction was missing
  (a refund-class terminal state; emitted by the reconciliation job).
- ``refund.updated``: a refund's status moved (``started -> processing -> completed``,
  or ``failed``).

A delivery is at-least-once: it is retried with exponential backoff and jitter until the
endpoint answers 2xx or ``give_up_after`` has passed since it was scheduled; then it is
``failed``. An endpoint that has answered nothing but failures for ``disable_after`` is
disabled, and says why.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from refundry.domain.errors import InvalidInput
from refundry.domain.retry import backoff_delay


class EventType(StrEnum):
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    AUTO_REFUNDED = "auto_refunded"
    REFUND_UPDATED = "refund.updated"
    RETURN_CREATED = "return.created"
    RETURN_UPDATED = "return.updated"
    STORE_CREDIT_UPDATED = "store_credit.updated"


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


MAX_ROTATION_GRACE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: uuid.UUID
    merchant_id: uuid.UUID
    url: str
    description: str | None
    enabled_events: frozenset[EventType]
    status: EndpointStatus
    secret: str
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    failing_since: datetime | None = None

    def subscribes_to(self, event_type: EventType) -> bool:
        return self.status is EndpointStatus.ENABLED and event_type in self.enabled_events

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery is signed with: both during a rotation's grace period,
        so a receiver holding either one verifies it."""
        if (
            self.previous_secret is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            return (self.secret, self.previous_secret)
        return (self.secret,)


def check_rotation_grace(grace: timedelta) -> None:
    if grace < timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise InvalidInput(
            "the grace period must be between 0 and 7 days",
            grace_period_seconds=int(grace.total_seconds()),
        )


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    timeout: timedelta = timedelta(seconds=10)
    retry_base: timedelta = timedelta(seconds=30)
    retry_ceiling: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(days=3)
    disable_after: timedelta = timedelta(days=5)

    def next_attempt(
        self, attempts: int, scheduled_at: datetime, now: datetime, jitter: float
    ) -> datetime | None:
        """When to try a failed delivery again, or ``None`` when it is time to give up.

        The last retry is placed at the deadline rather than dropped, so every delivery
        gets tried once at (or after) ``give_up_after``.
        """
        deadline = scheduled_at + self.give_up_after
        if now >= deadline:
            return None
        delay = backoff_delay(
            attempts, base=self.retry_base, ceiling=self.retry_ceiling, jitter=jitter
        )
        return min(now + delay, deadline)

    def should_disable(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= self.disable_after


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: uuid.UUID
    merchant_id: uuid.UUID
    # The order the event is about; for store_credit.updated, the store credit account's
    # id: the stream whose events ``sequence`` counts and the worker sends in turn.
    order_id: uuid.UUID
    type: EventType
    sequence: int  # the order's (the account's) events count 1, 2, 3...
    body: str  # the JSON sent, byte for byte the same on every attempt
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempted_at: datetime
    status_code: int | None  # None when no HTTP answer came (refused, timed out)
    latency_ms: int
    response_excerpt: str | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Delivery:
    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    endpoint_url: str
    state: DeliveryState
    attempts: int
    run_after: datetime
    scheduled_at: datetime
    finished_at: datetime | None
    last_error: str | None
    log: tuple[DeliveryAttempt, ...] = ()


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A leased delivery with what sending it needs; outcomes count only under its lease."""

    delivery: Delivery
    event: WebhookEvent
    endpoint: WebhookEndpoint
    leased_until: datetime


# ------------------------------------------------------------- where we may send
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 ranges whose last 32 bits are an IPv4 address a gateway or stack reaches: NAT64's
# well-known and local-use prefixes (RFC 6052, 8215), IPv4-compatible and IPv4-translated.
_EMBEDDING_IPV4 = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def is_private_host(host: str) -> bool:
    """Whether a URL's host, as written, is this machine or loopback, private, link-local
    or reserved space, in any form a client connects to: ``127.1``, ``2130706433``,
    ``0x7f000001``, ``[::ffff:127.0.0.1]``, NAT64's ``64:ff9b::7f00:1``, ``localhost``.
    A name that merely resolves to such an address is caught when the worker sends."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _literal_address(name)
    return address is not None and is_private_ip(address)


def is_private_ip(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_private_ip(address.ipv4_mapped)
        if address.sixtofour is not None:  # 2002::/16, whatever this Python calls global
            return is_private_ip(address.sixtofour)
        if address.teredo is not None:
            return True
        if any(address in network for network in _EMBEDDING_IPV4):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            return address.is_unspecified or address.is_loopback or is_private_ip(embedded)
    return not address.is_global or address.is_multicast


def _literal_address(name: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        pass
    try:  # the C library's shorthands, which clients accept: 127.1, 0x7f000001, 2130706433
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None
