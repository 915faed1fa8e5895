"""The one table from error to HTTP status, rendered as RFC 9457 problem+json.

Routes raise domain errors and never catch them; this module answers for all.
The problem ``type`` is a stable URI per error; clients branch on it, not on text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from refundry.adapters.db.outages import cause_in_one_line
from refundry.domain import errors
from refundry.entrypoints.api.schemas import Problem
from refundry.services.unit_of_work import CommitOutcomeUnknown

PROBLEM_BASE = "https://refundry.dev/problems/"
PROBLEM_JSON = "application/problem+json"

logger = logging.getLogger("refundry.api")

# Seconds a client is asked to wait before sending a request answered 503 again: an
# outage of the database or a provider is seldom over sooner, and a client retrying in a
# tight loop only adds to the load that may have caused it.
RETRY_AFTER_SECONDS = 5

# Most specific first: the first matching class decides.
STATUS_BY_ERROR: tuple[tuple[type[errors.RefundryError], int], ...] = (
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.SignInLocked, 429),
    (errors.NotFound, 404),
    (errors.QuoteStale, 409),
    (errors.QuoteExpired, 409),
    (errors.QuoteError, 422),
    (errors.IdempotencyKeyReused, 422),
    (errors.IdempotencyKeyInUse, 409),
    (errors.InvalidInput, 422),
    (errors.Conflict, 409),
    (errors.ProviderEventInvalid, 400),
    (errors.ProviderUnavailable, 503),
    (errors.ProviderRejected, 402),
)


# The problems any operation may answer with: (status, name in components/responses,
# description). Each operation refers to the shared response, which refers to the one
# Problem schema, so a generated client has one Problem type for every error status
# (written inline, openapi-python-client kept only one status and gave None for the rest).
PROBLEM_RESPONSES: tuple[tuple[int, str, str], ...] = (
    (
        400,
        "BadRequest",
        "The body could not be read (not UTF-8), or a provider event failed its signature check",
    ),
    (401, "Unauthenticated", "Missing or invalid API key"),
    (402, "ProviderRejected", "The payment provider refused the request"),
    (404, "NotFound", "Not found (including another merchant's resource)"),
    (408, "RequestTimeout", "The request body did not arrive in time (`request-timeout`)"),
    (409, "Conflict", "The order's state forbids the request"),
    (413, "ContentTooLarge", "The request body is larger than the server accepts"),
    (422, "InvalidRequest", "The request is not valid"),
    (429, "TooManyRequests", "Too many requests: wait for the seconds in the Retry-After header"),
    (
        503,
        "Unavailable",
        "The payment provider did not answer (`provider-unavailable`), or the database is "
        "unavailable (`database-unavailable`): nothing was refused; send the request again "
        "after the seconds in the Retry-After header, a POST with the same Idempotency-Key",
    ),
)
COMPONENTS = "#/components/"


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """The ``responses`` every router is included with: references to the shared problem
    responses, which ``add_problem_components`` puts in the document."""
    return {
        status: {"$ref": f"{COMPONENTS}responses/{name}"} for status, name, _ in PROBLEM_RESPONSES
    }


def add_problem_components(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``document`` with the problem responses and the Problem schema in its
    components. FastAPI writes a status text beside each reference; OpenAPI 3.1 lets a
    description there override the component's, so it is taken out."""
    problem = Problem.model_json_schema(ref_template=COMPONENTS + "schemas/{model}")
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(problem.pop("$defs", {}))
    schemas[Problem.__name__] = problem
    components["responses"] = {
        name: {
            "description": text,
            "content": {PROBLEM_JSON: {"schema": {"$ref": f"{COMPONENTS}schemas/Problem"}}},
        }
        for _, name, text in PROBLEM_RESPONSES
    }
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    operation["responses"][status] = {"$ref": response["$ref"]}
    return document


def in_a_sentence(error: errors.RefundryError) -> str:
    """The error's detail to show as it is, where a person reads it (a capital first, a
    full stop last): an order's ``cancel_blocked_because``, a dashboard refusal with no
    words of its own."""
    text = error.detail.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def status_for(error: errors.RefundryError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str | None,
    instance: str,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    # The members RFC 9457 defines come last: an extension cannot overwrite them.
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    all_headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.RefundryError)
    status = status_for(error)
    return problem(
        status,
        error.code,
        error.title,
        error.detail,
        request.url.path,
        error.extensions,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None,
    )


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """A 503 like any other answer: handled here, the error never reaches uvicorn, which
    would close the client's keep-alive connection after an unhandled one."""
    assert isinstance(error, errors.DatabaseUnavailable)
    logger.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        cause_in_one_line(error),
    )
    if isinstance(error, CommitOutcomeUnknown) and "idempotency-key" not in request.headers:
        # Without a key, "try again" could make the change twice: no Retry-After, a 500
        # (as Stripe answers an outcome it cannot tell), and the detail says to look first.
        return problem(500, error.code, error.title, str(error), request.url.path)
    return problem(
        503,
        error.code,
        error.title,
        str(error),
        request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    field_errors = [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"],
            "code": item["type"],
        }
        for item in error.errors()
    ]
    return problem(
        422,
        "validation-error",
        "The request is not valid",
        "; ".join(f"{item['field']}: {item['message']}" for item in field_errors),
        request.url.path,
        {"errors": field_errors},
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    slug = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}.get(
        error.status_code, "http-error"
    )
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem(
        error.status_code, slug, str(error.detail), None, request.url.path, headers=headers
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path allows. Starlette's ``Allow`` names those of the first route
    the path matches, and a path has a route per method (GET and POST /v1/orders)."""
    routes: Iterable[Any] = request.app.router.routes
    # FastAPI 0.16x keeps an included router as one route; this lists the routes in it.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    methods: set[str] = set()
    for route in flatten(routes) if flatten else routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal-error", "Internal error", None, request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.RefundryError, _domain_error)
    app.add_exception_handler(errors.DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
