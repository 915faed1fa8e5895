"""The FastAPI application: routers, the error table, the container."""

from __future__ import annotations

from fastapi import FastAPI

from refundry import __version__
from refundry.bootstrap import Container, bootstrap
from refundry.entrypoints.api import (
    errors,
    routes_float,
    routes_links,
    routes_orders,
    routes_points,
    routes_providers,
    routes_reconciliation,
    routes_refunds,
    routes_reports,
    routes_stock,
    routes_webhooks,
)
from refundry.entrypoints.api.limits import RequestLimits
from refundry.entrypoints.dashboard.app import create_dashboard_app


def create_app(container: Container | None = None) -> FastAPI:
    app = FastAPI(
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
    )
    for router in routers:
        app.include_router(router, responses=errors.problem_responses())
    app.mount("/dashboard", create_dashboard_app(app.state.container))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
