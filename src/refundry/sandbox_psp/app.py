"""The sandbox gateway over HTTP: Stripe's wire format (form bodies, JSON answers), and
Klarna's Order Management API under ``/ordermanagement/v1/orders``.

``/v1/...`` is the card API, behind ``Authorization: Bearer sk_test_...``; ``/_sandbox/...``
lets a test or a curious merchant inspect the state, switch faults on and point the refund
events somewhere (``POST /_sandbox/events {"url": ..., "secret": ...}``). The events'
dispatcher runs as a task of the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from refundry.sandbox_psp.events import EventDispatcher, EventsConfig
from refundry.sandbox_psp.gateway import Faults, Gateway, GatewayError
from refundry.sandbox_psp.klarna import KlarnaError, KlarnaSandbox


def create_app(
    gateway: Gateway | None = None,
    klarna: KlarnaSandbox | None = None,
    events: EventsConfig | None = None,
) -> Starlette:
    gateway = gateway or Gateway()
    klarna = klarna or KlarnaSandbox()
    dispatcher = EventDispatcher(gateway, events or EventsConfig())
    gateway.on_change = dispatcher.wake

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(dispatcher.run(), name="sandbox-events")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def klarna_api(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Basic "):
            return JSONResponse({"error_code": "UNAUTHORIZED"}, status_code=401)
        faults = gateway.faults
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return JSONResponse({"error_code": "INTERNAL_ERROR"}, status_code=500)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            parts = [part for part in request.path_params["path"].split("/") if part]
            status, answer = klarna.handle(
                request.method, parts, body, request.headers.get("klarna-idempotency-key")
            )
        except KlarnaError as error:
            return JSONResponse(error.body, status_code=error.status)
        except ValueError:
            return JSONResponse({"error_code": "BAD_VALUE"}, status_code=400)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if answer is None:
            return Response(status_code=status)
        return JSONResponse(answer, status_code=status)

    async def api(request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key."}},
                status_code=401,
            )
        faults = gateway.faults
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return JSONResponse(
                {"error": {"type": "api_error", "message": "Sandbox fault: internal error"}},
                status_code=500,
            )
        # Stripe's bodies are form-encoded with bracketed keys (metadata[order]=...).
        params: dict[str, Any] = dict(parse_qsl((await request.body()).decode()))
        try:
            # The work happens before any delay: a caller that gives up while waiting
            # has still moved money, which is what idempotency keys are for.
            body, status = (
                gateway.handle(
                    request.method, request.url.path, params, request.headers.get("idempotency-key")
                ),
                200,
            )
        except GatewayError as error:
            body, status = error.body, error.status
        if faults.hang_next > 0:
            faults.hang_next -= 1
            await asyncio.sleep(faults.hang_seconds)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        return JSONResponse(body, status_code=status)

    async def set_faults(request: Request) -> JSONResponse:
        try:
            gateway.faults.update(await request.json())
        except GatewayError as error:
            return JSONResponse(error.body, status_code=error.status)
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": {"message": str(error)}}, status_code=400)
        return JSONResponse(gateway.faults.__dict__)

    async def set_events(request: Request) -> JSONResponse:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise TypeError("expected a JSON object")
            dispatcher.config.update(changes)
        except GatewayError as error:
            return JSONResponse(error.body, status_code=error.status)
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": {"message": str(error)}}, status_code=400)
        return JSONResponse(dispatcher.config.describe())

    async def state(_request: Request) -> JSONResponse:
        snapshot = gateway.snapshot()
        return JSONResponse(
            {**snapshot, "events": dispatcher.describe(), "klarna": klarna.snapshot()}
        )

    async def reset(_request: Request) -> JSONResponse:
        # The events' URL and secret are the sandbox's setup, not its state: they stay.
        gateway.reset()
        dispatcher.reset()
        return JSONResponse({"faults": Faults().__dict__})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/{path:path}", api, methods=["GET", "POST"]),
            Route("/ordermanagement/v1/orders{path:path}", klarna_api, methods=["GET", "POST"]),
            Route("/_sandbox/faults", set_faults, methods=["POST"]),
            Route("/_sandbox/events", set_events, methods=["POST"]),
            Route("/_sandbox/state", state, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
