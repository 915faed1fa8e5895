"""The FastAPI application: routers, the error table, the container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from refundry import __version__
from refundry.bootstrap import Container, bootstrap
from refundry.entrypoints.api import (
    errors,
    routes_float,
    routes_health,
    routes_links,
    routes_orders,
    routes_points,
    routes_providers,
    routes_reconciliation,
    routes_refunds,
    routes_reports,
    routes_return_money,
    routes_returns,
    routes_stock,
    routes_store_credit,
    routes_webhooks,
)
from refundry.entrypoints.api.limits import RequestLimits
from refundry.entrypoints.api.metrics import StoredStateCollector
from refundry.entrypoints.api.request_ids import FastAPIWithRequestIds
from refundry.entrypoints.api.request_metrics import RequestMetrics
from refundry.entrypoints.api.tracing import trace_requests
from refundry.entrypoints.dashboard.app import create_dashboard_app

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
REDOC = Path(__file__).parent / "static" / "redoc"
# What the /redoc page may load: its script and the document from here; the inline styles
# ReDoc writes; its search index in a worker it starts from a blob.
REDOC_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; frame-ancestors 'none'"
)


class RefundryApi(FastAPIWithRequestIds):
    """X-Request-Id on every answer and log line; the problem schema as shared
    components of the OpenAPI document."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            self.openapi_schema = errors.add_problem_components(super().openapi())
        return self.openapi_schema


def create_app(container: Container | None = None) -> FastAPI:
    app = RefundryApi(
        # /docs and /redoc are served below from vendored assets (FastAPI's load from CDNs).
        docs_url=None,
        redoc_url=None,
        title="Refundry",
        version=__version__,
        description=(
            "Cancel orders and refund money correctly. Money is integer minor units of the "
            "order's currency. Every POST accepts an `Idempotency-Key`. Errors are RFC 9457 "
            "problem+json with a stable `type`."
        ),
    )
    app.state.container = container or bootstrap()
    app.add_middleware(RequestLimits, settings=app.state.container.settings)
    trace_requests(app, app.state.container)
    # Added last, so outermost: requests the limits refuse are timed and counted too.
    app.add_middleware(RequestMetrics)
    errors.install(app)
    routers = (
        routes_orders.router,
        routes_refunds.router,
        routes_stock.router,
        routes_float.router,
        routes_links.router,
        routes_reconciliation.router,
        routes_reports.router,
        routes_providers.router,
        routes_webhooks.router,
        routes_points.router,
        routes_returns.router,
        routes_return_money.router,
        routes_store_credit.router,
    )
    for router in routers:
        app.include_router(router, responses=errors.problem_responses())
    app.include_router(routes_health.router)
    app.state.stored_state = StoredStateCollector(app.state.container)  # for GET /metrics
    app.mount("/dashboard", create_dashboard_app(app.state.container))

    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    app.mount("/redoc-assets", StaticFiles(directory=REDOC), name="redoc-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Refundry API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
            # Swagger UI asks validator.swagger.io about any spec not on localhost.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title="Refundry API",
            redoc_js_url="/redoc-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon-32x32.png",
            with_google_fonts=False,
        )
        # ReDoc's menu shows a logo from cdn.redoc.ly, unconditionally: the browser is told
        # to ask no other host for anything (the logo falls back to its text).
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page

    return app
