"""Request-scoped dependencies: the container, the calling merchant, the idempotency key."""

from __future__ import annotations

import uuid
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from refundry.bootstrap import Container
from refundry.domain.errors import InvalidInput, Unauthenticated
from refundry.entrypoints import log_context
from refundry.services.handlers.merchants import ApiCaller, ApiKeyCache


# The dependencies are ``async``: FastAPI runs a plain function in the thread pool, and
# each trip there and back is two thread switches (py-spy showed them, with the GIL handed
# over each time, on every request). None of these waits on anything, except reading an
# API key that is not cached, which goes to the thread pool itself.
async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


# In the OpenAPI schema as a security scheme, so clients (and the fuzzer) know how to
# authenticate; a missing or malformed header is our own 401 problem, not FastAPI's.
bearer = HTTPBearer(
    scheme_name="apiKey",
    description="The merchant's API key: `Authorization: Bearer <key>`",
    auto_error=False,
)


async def get_caller(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> ApiCaller:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthenticated("send your API key as `Authorization: Bearer <key>`")
    factory = container.uow_factory
    cache = _API_KEYS.get(factory)
    if cache is None:
        cache = _API_KEYS.setdefault(factory, ApiKeyCache())
    caller = cache.cached(token)
    if caller is None:
        caller = await run_in_threadpool(cache.authenticate, factory, token)
    # The request's log lines name the merchant, and the order its path names.
    log_context.bind(merchant_id=caller.merchant_id, order_id=_order_in_path(request))
    return caller


def _order_in_path(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.path_params["order_id"])
    except (KeyError, TypeError, ValueError):
        return None  # no order in the path, or not an id (the route answers 422)


# Keys recently read, per database (a process may serve several, as the tests do), so a
# key is only ever trusted for the database it was read from.
_API_KEYS: WeakKeyDictionary[object, ApiKeyCache] = WeakKeyDictionary()


CallerDep = Annotated[ApiCaller, Depends(get_caller)]


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="1 to 255 printable characters. The same key with the same request "
            "replays the first response for at least 24 h",
            json_schema_extra={"minLength": 1, "maxLength": 255},
        ),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 255 or not idempotency_key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 255 printable characters")
    return idempotency_key


IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]
