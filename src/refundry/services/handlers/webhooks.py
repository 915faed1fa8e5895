"""Webhook use cases: endpoints and their secrets, the event log, redelivery, publishing.

What a change publishes is ``webhook_publishing``'s work (a message bus handler).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

import httpx

from refundry.domain.errors import (
    InvalidInput,
    PrivateWebhookUrl,
    WebhookEndpointNotFound,
    WebhookEventNotFound,
)
from refundry.domain.webhooks import (
    Delivery,
    EndpointStatus,
    EventType,
    WebhookEndpoint,
    WebhookEvent,
    check_rotation_grace,
    is_private_host,
)
from refundry.services.clock import utcnow
from refundry.services.transactions import run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_URL_LENGTH = 2048
MAX_PAGE = 100


# ------------------------------------------------------------------- endpoints
@dataclass(frozen=True, slots=True)
class EndpointChanges:
    url: str | None = None
    enabled_events: Sequence[EventType] | None = None
    description: str | None = None
    enabled: bool | None = None


def new_secret() -> str:
    """The Standard Webhooks form: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def create_endpoint(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    *,
    url: str,
    enabled_events: Sequence[EventType],
    description: str | None,
    allow_private_networks: bool = False,
) -> WebhookEndpoint:
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        url=_checked_url(url, allow_private_networks),
        description=description or None,
        enabled_events=_checked_events(enabled_events),
        status=EndpointStatus.ENABLED,
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    uow.webhook_endpoints.add(endpoint)
    return endpoint


def get_endpoint(
    uow: UnitOfWork, merchant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = uow.webhook_endpoints.get(merchant_id, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def list_endpoints(uow: UnitOfWork, merchant_id: uuid.UUID) -> list[WebhookEndpoint]:
    return uow.webhook_endpoints.for_merchant(merchant_id)


def update_endpoint(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    changes: EndpointChanges,
    allow_private_networks: bool = False,
) -> WebhookEndpoint:
    endpoint = get_endpoint(uow, merchant_id, endpoint_id)
    now = utcnow()
    updated = replace(endpoint, updated_at=now)
    if changes.url is not None:
        updated = replace(updated, url=_checked_url(changes.url, allow_private_networks))
    if changes.enabled_events is not None:
        updated = replace(updated, enabled_events=_checked_events(changes.enabled_events))
    if changes.description is not None:
        updated = replace(updated, description=changes.description or None)
    if changes.enabled is True:
        # Re-enabling starts its health afresh; events missed meanwhile can be replayed.
        updated = replace(
            updated, status=EndpointStatus.ENABLED, disabled_reason=None, failing_since=None
        )
    elif changes.enabled is False and endpoint.status is EndpointStatus.ENABLED:
        updated = replace(
            updated, status=EndpointStatus.DISABLED, disabled_reason="disabled by the merchant"
        )
        uow.webhook_events.fail_pending(endpoint.id, "the endpoint was disabled", now)
    uow.webhook_endpoints.save(updated)
    return updated


def delete_endpoint(uow: UnitOfWork, merchant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    endpoint = get_endpoint(uow, merchant_id, endpoint_id)
    now = utcnow()
    uow.webhook_events.fail_pending(endpoint.id, "the endpoint was deleted", now)
    uow.webhook_endpoints.delete(endpoint, now)


def rotate_secret(
    uow: UnitOfWork, merchant_id: uuid.UUID, endpoint_id: uuid.UUID, grace: timedelta
) -> WebhookEndpoint:
    """A new secret from now on; the old one also signs until the grace period ends."""
    check_rotation_grace(grace)
    endpoint = get_endpoint(uow, merchant_id, endpoint_id)
    now = utcnow()
    rotated = replace(
        endpoint,
        secret=new_secret(),
        previous_secret=endpoint.secret if grace > timedelta(0) else None,
        previous_secret_expires_at=now + grace if grace > timedelta(0) else None,
        updated_at=now,
    )
    uow.webhook_endpoints.save(rotated)
    return rotated


def _checked_url(url: str, allow_private_networks: bool) -> str:
    """An absolute http(s) URL that an HTTP client can send to, as given (no spaces or
    control characters, a valid host and port), and, unless the deployment allows it, not
    at this machine or a private network (refused now, not after 72 hours of retries)."""
    refused = InvalidInput("the endpoint URL must be an absolute http or https URL", url=url)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the endpoint URL must be at most {MAX_URL_LENGTH} characters")
    if url != url.strip() or any(not character.isprintable() for character in url):
        raise refused
    try:
        parsed = httpx.URL(url)
        parsed.host.encode("idna")
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise refused from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise refused
    if not allow_private_networks and is_private_host(parsed.host):
        raise PrivateWebhookUrl(
            f"the endpoint URL's host {parsed.host} is this machine or a private network; "
            "webhooks go to public addresses only",
            url=url,
        )
    return url


def _checked_events(enabled_events: Sequence[EventType]) -> frozenset[EventType]:
    if not enabled_events:
        raise InvalidInput("enabled_events must name at least one event type")
    return frozenset(enabled_events)


# ---------------------------------------------------------------------- events
def list_events(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    *,
    event_type: EventType | None = None,
    order_id: uuid.UUID | None = None,
    limit: int = 20,
    starting_after: uuid.UUID | None = None,
) -> tuple[list[WebhookEvent], bool]:
    """A page of events, newest first, and whether more follow."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", limit=limit)
    before = None if starting_after is None else get_event(uow, merchant_id, starting_after)
    events = uow.webhook_events.page(
        merchant_id,
        event_type=event_type,
        order_id=order_id,
        since=None,
        until=None,
        limit=limit + 1,
        before=before,
    )
    return events[:limit], len(events) > limit


def get_event(uow: UnitOfWork, merchant_id: uuid.UUID, event_id: uuid.UUID) -> WebhookEvent:
    event = uow.webhook_events.get(merchant_id, event_id)
    if event is None:
        raise WebhookEventNotFound(f"no event {event_id}")
    return event


def event_deliveries(
    uow: UnitOfWork, merchant_id: uuid.UUID, event_id: uuid.UUID
) -> list[Delivery]:
    return uow.webhook_events.deliveries(get_event(uow, merchant_id, event_id).id)


def redeliver(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    event_id: uuid.UUID,
    endpoint_id: uuid.UUID | None = None,
) -> list[Delivery]:
    """Send an event again: to one endpoint, or to every enabled endpoint subscribed to
    its type now (including ones created after it). Receivers recognise the repeat by
    the unchanged event id."""
    event = get_event(uow, merchant_id, event_id)
    if endpoint_id is not None:
        endpoint = get_endpoint(uow, merchant_id, endpoint_id)
        if endpoint.status is not EndpointStatus.ENABLED:
            raise InvalidInput(
                "the endpoint is disabled; enable it first", endpoint_id=str(endpoint_id)
            )
        targets = [endpoint.id]
    else:
        targets = [e.id for e in uow.webhook_endpoints.subscribed(merchant_id, event.type)]
    uow.webhook_events.redeliver(event, targets, utcnow())
    return uow.webhook_events.deliveries(event.id)


def replay_events(
    uow_factory: UnitOfWorkFactory,
    *,
    since: datetime,
    until: datetime | None = None,
    merchant_id: uuid.UUID | None = None,
    event_type: EventType | None = None,
) -> int:
    """Redeliver every event in ``[since, until)`` to the endpoints now subscribed to it
    (the operator's tool after an outage); returns how many events. Each page of events
    is its own transaction, so a long replay never holds the database for its whole run."""
    replayed = 0
    before: WebhookEvent | None = None
    while True:
        page = run(
            uow_factory,
            partial(
                _replay_page,
                since=since,
                until=until,
                merchant_id=merchant_id,
                event_type=event_type,
                before=before,
            ),
        )
        replayed += len(page)
        if len(page) < MAX_PAGE:
            return replayed
        before = page[-1]


def _replay_page(
    uow: UnitOfWork,
    *,
    since: datetime,
    until: datetime | None,
    merchant_id: uuid.UUID | None,
    event_type: EventType | None,
    before: WebhookEvent | None,
) -> list[WebhookEvent]:
    page = uow.webhook_events.page(
        merchant_id,
        event_type=event_type,
        order_id=None,
        since=since,
        until=until,
        limit=MAX_PAGE,
        before=before,
    )
    now = utcnow()
    for event in page:
        targets = uow.webhook_endpoints.subscribed(event.merchant_id, event.type)
        uow.webhook_events.redeliver(event, [endpoint.id for endpoint in targets], now)
    return page
