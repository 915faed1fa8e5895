"""ASGI middleware: every HTTP request's duration, by method, route template and status
(``refundry_http_request_duration_seconds``).

A route is named by its template (``/v1/orders/{order_id}``), never by the path asked
for: ids in labels would make a series per order. A request no route matched (a 404,
or one the abuse limits refused before routing) is ``unmatched``. Pure ASGI rather than
``BaseHTTPMiddleware``, which runs each request in a task of its own; this costs two
clock reads and a histogram observation, a few microseconds (docs/operations.md).
"""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundry.adapters.metrics import HTTP_REQUEST_SECONDS

UNMATCHED = "unmatched"
# Any other method a client sends is counted as "other": one series per made-up method
# would let a client grow the metrics without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Each (method, route, status) series, found once: prometheus_client's own lookup
        # (``labels``) cost more than the observation itself. Bounded as the labels are.
        self._series: dict[tuple[str, str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        except Exception:
            status = status or 500  # what the server answers for it
            raise
        finally:
            # Nothing is counted for a request cancelled before it was answered (the
            # client went away): there is no status to count it under.
            if status:
                method = scope["method"] if scope["method"] in METHODS else "other"
                key = (method, route_template(scope), str(status))
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = HTTP_REQUEST_SECONDS.labels(*key)
                series.observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that answered, with the prefix of the application it
    is mounted in (``/dashboard``); read after the request, as routing left it."""
    root_path: str = scope.get("root_path", "")
    mounted_at = root_path[len(scope.get("app_root_path", root_path)) :]
    route = scope.get("route")  # FastAPI records its own routes there
    if route is not None and not isinstance(route, Mount):
        return f"{mounted_at}{route.path}"
    if mounted_at:  # static files, or a mounted app none of whose routes matched
        return f"{mounted_at}/{{path}}"
    # A plain Starlette route (/openapi.json) is not recorded: found again here, which
    # only requests without a recorded route pay for.
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", ()):
        if type(candidate) is Route and candidate.matches(scope)[0] is Match.FULL:
            return candidate.path
    return UNMATCHED
