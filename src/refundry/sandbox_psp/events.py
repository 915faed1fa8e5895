"""The sandbox's refund events: each settled refund announced to one URL, signed like Stripe.

A task on the app's event loop wakes at the next refund's ``settles_at`` (or when the
gateway says a refund was created or settled on a read), settles what is due and posts
one event per settled refund::

    {"id": "evt_...", "object": "event", "type": "refund.updated" | "refund.failed",
     "created": ..., "data": {"object": <the refund>}}

with ``Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body">``, made by the
``stripe`` SDK, the same code Refundry verifies with. Every attempt is signed afresh, as
Stripe does, so a retry hours later still passes a five-minute replay window.

A delivery that meets a network error or a non-2xx answer is retried with backoff for an
hour, in its own task: no API answer waits for a delivery, and the API's faults
(``latency_ms``, ``hang_next``) delay no event. With no URL configured no events are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe

from refundry.config import DEFAULT_SANDBOX_WEBHOOK_SECRET
from refundry.sandbox_psp.gateway import Gateway, GatewayError

Json = dict[str, Any]
logger = logging.getLogger("refundry.sandbox_psp.events")


@dataclass
class EventsConfig:
    url: str | None = None  # where events go; None sends none
    # The endpoint's signing secret; the default is Refundry's, so the two agree unset.
    secret: str = DEFAULT_SANDBOX_WEBHOOK_SECRET

    def update(self, changes: Json) -> None:
        """Apply ``{"url": ..., "secret": ...}`` (either may be left out) after checking all."""
        unknown = set(changes) - {"url", "secret"}
        if unknown:
            raise GatewayError(400, "invalid_request_error", f"unknown setting {min(unknown)!r}")
        url = changes.get("url", self.url)
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise GatewayError(400, "invalid_request_error", "url must be an http(s) URL or null")
        secret = changes.get("secret", self.secret)
        if not isinstance(secret, str) or not secret.strip():
            raise GatewayError(400, "invalid_request_error", "secret must be a non-empty string")
        self.url, self.secret = url, secret

    def describe(self) -> Json:
        return {"url": self.url}  # the secret stays out of the state a browser can read


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_delay: float = 0.5  # seconds; doubling after each failed attempt
    max_delay: float = 60.0
    give_up_after: float = 3600.0  # Stripe tries for days; a sandbox in memory for an hour
    timeout: float = 10.0  # per attempt


@dataclass
class Delivery:
    event_id: str
    event_type: str
    refund_id: str
    url: str
    secret: str
    body: str
    state: str = "pending"  # pending, then delivered or abandoned
    attempts: int = 0
    last_error: str | None = None

    def describe(self) -> Json:
        return {
            "event_id": self.event_id,
            "type": self.event_type,
            "refund": self.refund_id,
            "url": self.url,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


def refund_event(refund: Json, created: float) -> Json:
    """A Stripe event about a refund that has just settled."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": "refund.failed" if refund["status"] == "failed" else "refund.updated",
        "created": int(created),
        "livemode": False,
        "data": {"object": refund},
    }


def signature_header(body: str, secret: str) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(body, secret)
    return header


@dataclass
class EventDispatcher:
    """Settles the gateway's refunds when due and delivers an event for each."""

    gateway: Gateway
    config: EventsConfig = field(default_factory=EventsConfig)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    deliveries: list[Delivery] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _wake: asyncio.Event | None = field(default=None, init=False)

    def wake(self) -> None:
        """Have ``run`` look again now; safe from any thread, a no-op while not running."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us: nothing to wake
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        """Until cancelled: settle what is due, announce it, sleep until the next is due."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with httpx.AsyncClient(timeout=self.policy.timeout) as client:
                try:
                    while True:
                        self._wake.clear()
                        self.gateway.settle_due()
                        for refund in self.gateway.take_settled():
                            self._announce(client, refund)
                        due = self.gateway.next_settle_at()
                        wait = None if due is None else max(0.0, due - self.gateway.clock())
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), wait)
                finally:
                    await self._cancel_deliveries()  # before their client closes
        finally:
            self._loop = self._wake = None

    def reset(self) -> None:
        """Forget every delivery, pending ones included (``/_sandbox/reset``)."""
        for task in self._tasks:
            task.cancel()
        self.deliveries.clear()

    def describe(self) -> Json:
        return {
            **self.config.describe(),
            "deliveries": [delivery.describe() for delivery in self.deliveries],
        }

    def _announce(self, client: httpx.AsyncClient, refund: Json) -> None:
        url = self.config.url
        if url is None:
            return  # events are off; a URL set later does not bring back earlier events
        event = refund_event(refund, self.gateway.clock())
        delivery = Delivery(
            event["id"], event["type"], refund["id"], url, self.config.secret, json.dumps(event)
        )
        self.deliveries.append(delivery)
        task = asyncio.create_task(self._deliver(client, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        started = time.monotonic()
        delay = self.policy.first_delay
        while True:
            delivery.attempts += 1
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header(delivery.body, delivery.secret),
            }
            try:
                answer = await client.post(delivery.url, content=delivery.body, headers=headers)
            except httpx.HTTPError as error:
                name = type(error).__name__
                delivery.last_error = f"{name}: {error}" if str(error) else name
            else:
                if answer.is_success:
                    delivery.state, delivery.last_error = "delivered", None
                    return
                delivery.last_error = f"HTTP {answer.status_code}"
            if time.monotonic() - started + delay > self.policy.give_up_after:
                delivery.state = "abandoned"
                logger.warning(
                    "event %s to %s abandoned after %d attempts: %s",
                    delivery.event_id,
                    delivery.url,
                    delivery.attempts,
                    delivery.last_error,
                )
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.policy.max_delay)

    async def _cancel_deliveries(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
