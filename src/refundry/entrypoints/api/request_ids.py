"""A request id on every request: the caller's ``X-Request-Id`` when it is sane, else one
made here; echoed on the response (problems and 500s included) and put on every log line
written while the request is served (``entrypoints.log_context``).

A pure ASGI middleware (``BaseHTTPMiddleware`` runs the app in another task, where the
context would not reach), and the outermost layer: outside even the one that answers a
500, so that answer and its log line carry the id too.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundry.entrypoints import log_context

HEADER = b"x-request-id"
# Short and plain enough to log and to echo as it came: visible ASCII (no spaces, no
# control characters), at most 64 of them (a UUID is 36, a W3C traceparent 55).
SANE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The caller's id when it is sane, else a new one (a UUID's 32 hex digits)."""
    for key, value in scope["headers"]:
        if key == HEADER:
            given = bytes(value).decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        echoed = (HEADER, request_id.encode("ascii"))

        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                headers = [pair for pair in message.get("headers", []) if pair[0].lower() != HEADER]
                message = {**message, "headers": [*headers, echoed]}
                answered = True
            await send(message)

        with log_context.serving(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                if not answered:
                    raise
                # Starlette's error layer answered the 500 (and the error was logged with
                # this request's id), then raised it again for the server: uvicorn would log
                # it a second time, with no id, and close the client's keep-alive connection.


class FastAPIWithRequestIds(FastAPI):
    """FastAPI with ``RequestIds`` around its whole stack: ``add_middleware`` would put it
    inside the error layer, whose 500 answers would then go out without the id. Wrapped
    around the application's call rather than its built stack, which instrumentation
    (OpenTelemetry's) expects to begin with Starlette's error layer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await RequestIds(super().__call__)(scope, receive, send)
