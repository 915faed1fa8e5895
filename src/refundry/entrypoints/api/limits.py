"""Abuse limits in front of every route: request size, the time a body may take, and
request rate per API key and per address signing in to the dashboard.

Rates are token buckets kept in each server process: a key may make ``rate`` requests a
second on average and ``burst`` at once, per process. Counting in the database instead
would add a write to every request; the sign-in lockout, which must hold across
processes, is kept there (``services.handlers.staff``). A refused request is answered before any
route runs: 413 for a body over ``max_request_bytes``, 429 with ``Retry-After``, 408 for a
body not all there ``body_timeout_seconds`` after its headers.

A body is read whole here, before the application sees the request, under one deadline:
a client trickling it a byte at a time is cut off, where a deadline per read would let it
go on for ever. uvicorn has no such timeout; the header block's is in ``header_deadline``,
since the application only hears of a request once its headers are in. A refusal of a
body closes the connection (``Connection: close``): what is left of the body must not be
read as the next request, nor keep the connection open while it trickles in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundry.config import Settings
from refundry.entrypoints.api.errors import PROBLEM_BASE, PROBLEM_JSON

MAX_TRACKED = 10_000  # buckets kept; the least recently used is forgotten beyond it


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``rate`` tokens a second up to ``burst``, per key; bounded memory."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RequestLimits:
    """ASGI middleware: the limits above, for the API and the dashboard alike."""

    def __init__(
        self, app: ASGIApp, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.max_bytes = settings.max_request_bytes
        self.body_seconds = settings.body_timeout_seconds
        self.keys = (
            TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst, clock)
            if settings.rate_limit_per_second > 0
            else None
        )
        per_minute = settings.sign_in_attempts_per_minute
        self.sign_ins = TokenBuckets(per_minute / 60, per_minute, clock) if per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wait = self._wait(scope)
        if wait:
            await _refuse(
                scope,
                send,
                429,
                "rate-limited",
                "Too many requests",
                f"slow down: try again in {math.ceil(wait)} s",
                {"Retry-After": str(math.ceil(wait))},
            )
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, send)
            return
        if declared not in (None, "0") or _header(scope, b"transfer-encoding") is not None:
            try:
                async with asyncio.timeout(self.body_seconds):
                    body = await _read_at_most(receive, self.max_bytes)
            except TimeoutError:
                await self._too_slow(scope, send)
                return
            except _TooLarge:
                await self._too_large(scope, send)
                return
            except _Disconnected:
                return  # nobody to answer; a body cut short must not run as a whole one
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _wait(self, scope: Scope) -> float:
        path: str = scope["path"]
        if self.sign_ins is not None and path == "/dashboard/login" and scope["method"] == "POST":
            client = scope.get("client")
            return self.sign_ins.take(f"ip:{client[0] if client else '?'}")
        authorization = _header(scope, b"authorization")
        if self.keys is not None and authorization and path.startswith("/v1/"):
            # The key's hash, never the key: these buckets are memory a dump could show.
            return self.keys.take(hashlib.sha256(authorization.encode()).hexdigest())
        return 0.0

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await _refuse(
            scope,
            send,
            413,
            "request-too-large",
            "Request too large",
            f"a request body may hold at most {self.max_bytes} bytes",
            {"Connection": "close"},
        )

    async def _too_slow(self, scope: Scope, send: Send) -> None:
        await _refuse(
            scope,
            send,
            408,
            "request-timeout",
            "Request body too slow",
            f"a request body must arrive within {self.body_seconds:g} s of its headers",
            {"Connection": "close"},
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1").strip()
    return None


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _read_at_most(receive: Receive, limit: int) -> bytes:
    """The whole body (a declared length is checked before; a streamed one, here)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read, then the server's own ``receive``: it tells of a disconnect."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str],
) -> None:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope["path"],
    }
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((key.lower().encode(), value.encode()) for key, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
