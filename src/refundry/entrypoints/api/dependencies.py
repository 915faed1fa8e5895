"""Request-scoped dependencies: the container, the calling merchant, the idempotency key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from refundry.bootstrap import Container
from refundry.domain.errors import InvalidInput, Unauthenticated
from refundry.services import transactions
from refundry.services.merchants import ApiCaller, authenticate


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_caller(
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> ApiCaller:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send your API key as `Authorization: Bearer <key>`")
    return transactions.read(container.uow_factory, lambda uow: authenticate(uow, token.strip()))


CallerDep = Annotated[ApiCaller, Depends(get_caller)]


def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(description="Same key and body replays the first response for at least 24 h"),
    ] = None,
) -> str | None:
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 255 or not idempotency_key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 255 printable characters")
    return idempotency_key


IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]
