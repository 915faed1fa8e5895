"""Webhook endpoints (where to send), the event log, deliveries and redelivery."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from refundry.domain.webhooks import (
    Delivery,
    DeliveryState,
    EventType,
    WebhookEndpoint,
    WebhookEvent,
)
from refundry.entrypoints.api import schemas_webhooks as schemas
from refundry.entrypoints.api.dependencies import CallerDep, ContainerDep, IdempotencyKeyDep
from refundry.entrypoints.api.links import link, links
from refundry.entrypoints.api.responses import json_response, mutate
from refundry.services import transactions
from refundry.services.handlers import webhooks

router = APIRouter(prefix="/v1", tags=["webhooks"])


def present_endpoint(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": sorted(endpoint.enabled_events),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    if with_secret:
        return schemas.WebhookEndpointWithSecretOut(**fields, secret=endpoint.secret).model_dump(
            mode="json"
        )
    return schemas.WebhookEndpointOut(**fields).model_dump(mode="json")


def event_model(event: WebhookEvent) -> schemas.EventOut:
    return schemas.EventOut(
        id=event.id,
        type=event.type,
        order_id=event.order_id,
        sequence=event.sequence,
        created_at=event.created_at,
        payload=json.loads(event.body),
    )


def present_deliveries(event_id: uuid.UUID, deliveries: list[Delivery]) -> dict[str, Any]:
    return schemas.DeliveryListOut(
        event_id=event_id,
        data=[
            schemas.DeliveryOut(
                endpoint_id=delivery.endpoint_id,
                url=delivery.endpoint_url,
                state=delivery.state,
                attempts=delivery.attempts,
                next_attempt_at=(
                    delivery.run_after if delivery.state is DeliveryState.PENDING else None
                ),
                finished_at=delivery.finished_at,
                last_error=delivery.last_error,
                log=[
                    schemas.AttemptOut(
                        attempted_at=attempt.attempted_at,
                        status_code=attempt.status_code,
                        latency_ms=attempt.latency_ms,
                        response_excerpt=attempt.response_excerpt,
                        error=attempt.error,
                    )
                    for attempt in delivery.log
                ],
            )
            for delivery in deliveries
        ],
    ).model_dump(mode="json")


# ------------------------------------------------------------------- endpoints
ENDPOINT = "/v1/webhook-endpoints/{endpoint_id}"
EVENT = "/v1/events/{event_id}"
NEW_ENDPOINT_ID = "$response.body#/id"
FIRST_EVENT_ID = "$response.body#/data/0/id"


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=schemas.WebhookEndpointWithSecretOut,
    responses=links(
        201,
        GetEndpoint=link("GET", ENDPOINT, "Read it", endpoint_id=NEW_ENDPOINT_ID),
        UpdateEndpoint=link("PATCH", ENDPOINT, "Change it", endpoint_id=NEW_ENDPOINT_ID),
        DeleteEndpoint=link("DELETE", ENDPOINT, "Delete it", endpoint_id=NEW_ENDPOINT_ID),
        RotateSecret=link(
            "POST", f"{ENDPOINT}/rotate-secret", "A new secret", endpoint_id=NEW_ENDPOINT_ID
        ),
    ),
)
def create_endpoint(
    body: schemas.WebhookEndpointIn,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Register a receiver. Its signing secret is in this response only."""
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: webhooks.create_endpoint(
            uow,
            caller.merchant_id,
            url=body.url,
            enabled_events=body.enabled_events,
            description=body.description,
            allow_private_networks=container.settings.webhook_allow_private_networks,
        ),
        present=lambda endpoint: present_endpoint(endpoint, with_secret=True),
        status_code=201,
    )


@router.get("/webhook-endpoints", response_model=schemas.WebhookEndpointListOut)
def list_endpoints(container: ContainerDep, caller: CallerDep) -> Response:
    endpoints = transactions.read(
        container.uow_factory, lambda uow: webhooks.list_endpoints(uow, caller.merchant_id)
    )
    return json_response({"data": [present_endpoint(endpoint) for endpoint in endpoints]})


@router.get("/webhook-endpoints/{endpoint_id}", response_model=schemas.WebhookEndpointOut)
def get_endpoint(endpoint_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    """The endpoint's status says whether it was disabled for failing, and why."""
    endpoint = transactions.read(
        container.uow_factory,
        lambda uow: webhooks.get_endpoint(uow, caller.merchant_id, endpoint_id),
    )
    return json_response(present_endpoint(endpoint))


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=schemas.WebhookEndpointOut)
def update_endpoint(
    endpoint_id: uuid.UUID,
    body: schemas.WebhookEndpointPatch,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Change the URL, event types or description; ``enabled`` disables or re-enables."""
    changes = webhooks.EndpointChanges(
        url=body.url,
        enabled_events=body.enabled_events,
        description=body.description,
        enabled=body.enabled,
    )
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: webhooks.update_endpoint(
            uow,
            caller.merchant_id,
            endpoint_id,
            changes,
            allow_private_networks=container.settings.webhook_allow_private_networks,
        ),
        present=present_endpoint,
    )


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(
    endpoint_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
) -> Response:
    """Stop sending to it; what it was still owed is marked failed."""
    done = mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=None,
        use_case=lambda uow: webhooks.delete_endpoint(uow, caller.merchant_id, endpoint_id),
        present=lambda _: {},
    )
    replayed = done.headers.get("idempotent-replayed")
    return Response(
        status_code=204, headers=None if replayed is None else {"Idempotent-Replayed": replayed}
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=schemas.WebhookEndpointWithSecretOut,
)
def rotate_secret(
    endpoint_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.RotateSecretIn | None = None,
) -> Response:
    """A new secret, shown once; the old one also signs until the grace period ends."""
    body = body or schemas.RotateSecretIn()
    grace = timedelta(seconds=body.grace_period_seconds)
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: webhooks.rotate_secret(uow, caller.merchant_id, endpoint_id, grace),
        present=lambda endpoint: present_endpoint(endpoint, with_secret=True),
    )


# ---------------------------------------------------------------------- events
@router.get(
    "/events",
    response_model=schemas.EventListOut,
    responses=links(
        200,
        GetEvent=link("GET", EVENT, "The newest event", event_id=FIRST_EVENT_ID),
        EventDeliveries=link(
            "GET", f"{EVENT}/deliveries", "Its deliveries", event_id=FIRST_EVENT_ID
        ),
        RedeliverEvent=link("POST", f"{EVENT}/redeliver", "Send it again", event_id=FIRST_EVENT_ID),
    ),
)
def list_events(
    container: ContainerDep,
    caller: CallerDep,
    type: EventType | None = None,
    order_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        uuid.UUID | None, Query(description="The last event id of the previous page")
    ] = None,
) -> Response:
    """Every event, newest first, with the body that was (or is being) sent."""
    events, has_more = transactions.read(
        container.uow_factory,
        lambda uow: webhooks.list_events(
            uow,
            caller.merchant_id,
            event_type=type,
            order_id=order_id,
            limit=limit,
            starting_after=starting_after,
        ),
    )
    return json_response(
        schemas.EventListOut(
            data=[event_model(event) for event in events], has_more=has_more
        ).model_dump(mode="json")
    )


@router.get("/events/{event_id}", response_model=schemas.EventOut)
def get_event(event_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    event = transactions.read(
        container.uow_factory, lambda uow: webhooks.get_event(uow, caller.merchant_id, event_id)
    )
    return json_response(event_model(event).model_dump(mode="json"))


@router.get("/events/{event_id}/deliveries", response_model=schemas.DeliveryListOut)
def event_deliveries(event_id: uuid.UUID, container: ContainerDep, caller: CallerDep) -> Response:
    """Per endpoint: where the delivery stands, and every attempt (time, status, latency,
    the first bytes of the answer)."""
    deliveries = transactions.read(
        container.uow_factory,
        lambda uow: webhooks.event_deliveries(uow, caller.merchant_id, event_id),
    )
    return json_response(present_deliveries(event_id, deliveries))


@router.post(
    "/events/{event_id}/redeliver", status_code=202, response_model=schemas.DeliveryListOut
)
def redeliver(
    event_id: uuid.UUID,
    request: Request,
    container: ContainerDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKeyDep,
    body: schemas.RedeliverIn | None = None,
) -> Response:
    """Send the event again (same id) with a fresh round of retries."""
    body = body or schemas.RedeliverIn()
    return mutate(
        container=container,
        caller=caller,
        request=request,
        idempotency_key=idempotency_key,
        body=body,
        use_case=lambda uow: webhooks.redeliver(
            uow, caller.merchant_id, event_id, body.endpoint_id
        ),
        present=lambda deliveries: present_deliveries(event_id, deliveries),
        status_code=202,
    )
