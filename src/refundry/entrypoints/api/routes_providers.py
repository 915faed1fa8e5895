"""Events from payment providers: signature checked, stored once, applied, acknowledged.

Providers call this without an API key; the signature is their credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from refundry.domain.errors import NotFound
from refundry.entrypoints.api.dependencies import ContainerDep
from refundry.services.handlers.provider_events import receive_provider_event

router = APIRouter(tags=["providers"])


class EventReceivedOut(BaseModel):
    received: bool
    duplicate: bool  # the provider had delivered this event before; nothing was done again


@router.post("/v1/providers/{provider}/events", response_model=EventReceivedOut)
async def receive_event(
    container: ContainerDep,
    request: Request,
    provider: Annotated[str, PathParam(max_length=32, pattern=r"^[a-z_]+$")],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> EventReceivedOut:
    reader = container.event_readers.get(provider)
    if reader is None:
        raise NotFound(f"no events are configured for provider {provider!r}")
    body = await request.body()
    event_id, event_type, refund_event = reader.read(body, stripe_signature)
    # In the thread pool: the event's transaction must not hold up the event loop.
    is_new = await run_in_threadpool(
        receive_provider_event,
        container.uow_factory,
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        refund_event=refund_event,
        payload=body,
    )
    return EventReceivedOut(received=True, duplicate=not is_new)
