"""uvicorn's HTTP protocol with a deadline on each request's header block.

uvicorn has no header-read timeout (0.55: its options are a keep-alive timeout, limits on
concurrency and requests, and h11's largest incomplete event). Its keep-alive timer is
cancelled by the first byte that arrives, and none runs on a new connection, so a client
that sends its headers a byte at a time, or connects and sends nothing, keeps the
connection, and a slot of the server's, for as long as it likes. An ASGI application
cannot help: it hears of a request only once its headers are in.

This subclass of the protocol uvicorn picks by default (httptools, with
``uvicorn[standard]``) starts a timer when a connection is made and when a request's first
byte arrives, stops it when the headers are complete, and closes the connection if it
runs out: a dozen lines on the protocol's own callbacks, where a proxy in front or a
patched server would be much more. Nothing is answered (as nginx does): a client that
sent nothing may be a browser's spare connection. The body has its own deadline in
``limits.RequestLimits``, which can answer 408.

``refundry serve`` runs it; a bare uvicorn command needs
``--http refundry.entrypoints.api.header_deadline:HeaderDeadlineProtocol``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from refundry.config import Settings

PROTOCOL = "refundry.entrypoints.api.header_deadline:HeaderDeadlineProtocol"

logger = logging.getLogger("refundry.api")


@functools.cache
def header_timeout_seconds() -> float:
    # Read in each server process: uvicorn's workers import this class by its name.
    return Settings.from_env().header_timeout_seconds


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(header_timeout_seconds(), self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            logger.info(
                "closed a connection from %s: no complete request headers within %g s",
                self.client[0] if self.client else "?",
                header_timeout_seconds(),
            )
            self.transport.close()
