"""The dashboard as its own application, mounted at ``/dashboard``: its errors are HTML
pages (the API's are problem+json), and every answer carries the headers a signed-in
page needs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from refundry.adapters.db.outages import cause_in_one_line
from refundry.bootstrap import Container
from refundry.domain.errors import DatabaseUnavailable, RefundryError, Unauthenticated
from refundry.entrypoints.api.errors import RETRY_AFTER_SECONDS, status_for
from refundry.entrypoints.dashboard import (
    approvals,
    customers,
    operations,
    order_list,
    payment_settings,
    refunds,
    report_pages,
    return_create,
    return_exchanges,
    return_refunds,
    returns,
    routes,
    saved_views,
    team,
)
from refundry.entrypoints.dashboard.refusals import Reader, in_plain_words
from refundry.entrypoints.dashboard.rendering import render

logger = logging.getLogger("refundry.dashboard")

SECURITY_HEADERS = {
    # Pages show customers' data: never cached, never framed, no guessing of types.
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def create_dashboard_app(container: Container) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.include_router(routes.router)
    app.include_router(order_list.router)
    app.include_router(saved_views.router)
    app.include_router(refunds.router)
    app.include_router(customers.router)
    app.include_router(returns.router)
    app.include_router(return_create.router)
    app.include_router(return_refunds.router)
    app.include_router(return_exchanges.router)
    app.include_router(approvals.router)
    app.include_router(team.router)
    app.include_router(report_pages.router)
    app.include_router(operations.router)
    app.include_router(payment_settings.router)
    app.add_exception_handler(RefundryError, _domain_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.middleware("http")(_guard)
    return app


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """A form posted from another site is refused before it runs (login CSRF too: the
    sign-in form has no session to hold a token yet); every answer gets the headers."""
    if request.method == "POST" and not _same_origin(request):
        response: Response = render(
            request, "error.html", 403, session=None,
            message="This form was sent from another site, so it was not run.",
        )  # fmt: skip
    else:
        response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        # No Origin (an old browser, a script): the per-session CSRF token still guards
        # every form but sign-in; browsers that fetch cross-site say so here.
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _domain_error(request: Request, error: Exception) -> Response:
    """Why an action was refused, on a page with the signed-in member's menu, when no form
    can show it (a missing permission or CSRF token, no such order; a form's own refusal
    is shown on it); the action wrote nothing, its transaction having rolled back.
    (Sync: Starlette runs it in a thread, since it reads the session.)"""
    assert isinstance(error, RefundryError)
    if isinstance(error, Unauthenticated):
        return RedirectResponse("/dashboard/login", status_code=303)
    current = routes.current_session(request, request.app.state.container)
    # in plain words too, though without the order a form's refusal names
    said = in_plain_words(error, None, Reader.of(request))
    return render(request, "error.html", status_for(error), session=current, message=said)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """Said in plain words, without the member's menu: reading the session needs the
    database too."""
    assert isinstance(error, DatabaseUnavailable)
    logger.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        cause_in_one_line(error),
    )
    page = render(
        request, "error.html", 503, session=None,
        message="The database cannot be reached just now. Wait a few seconds, then reload "
        "the order to see where it stands before doing anything again.",
    )  # fmt: skip
    page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return page


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
        for item in error.errors()
    )
    return render(request, "error.html", 422, session=None, message=f"Not valid: {fields}")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    message = "No such page." if error.status_code == 404 else str(error.detail)
    return render(request, "error.html", error.status_code, session=None, message=message)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.exception("dashboard request failed: %s %s", request.method, request.url.path)
    return render(
        request, "error.html", 500, session=None,
        message="Something went wrong on our side. Reload the order to see where it stands.",
    )  # fmt: skip
