"""``refundry webhooks``: replay events after an outage, and a local receiver."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer

from refundry.domain.webhooks import EventType
from refundry.entrypoints.cli_database import existing_database
from refundry.entrypoints.cli_reconcile import parse_merchant_id
from refundry.services.handlers import webhooks

webhooks_app = typer.Typer(
    help="Webhook events: replay, and a local receiver.", no_args_is_help=True
)

TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@webhooks_app.command("replay")
def replay(
    since: Annotated[
        datetime, typer.Option(formats=TIME_FORMATS, help="events made at or after (UTC)")
    ],
    until: Annotated[
        datetime | None, typer.Option(formats=TIME_FORMATS, help="and before this (UTC)")
    ] = None,
    merchant: Annotated[str | None, typer.Option(help="only this merchant's events")] = None,
    event_type: Annotated[
        EventType | None, typer.Option("--type", help="only events of this type")
    ] = None,
) -> None:
    """Send every event of a time range again, with their original ids, to the endpoints
    subscribed to them now; the worker delivers them."""
    merchant_id = parse_merchant_id(merchant) if merchant else None
    container = existing_database()
    count = webhooks.replay_events(
        container.uow_factory,
        since=_utc(since),
        until=None if until is None else _utc(until),
        merchant_id=merchant_id,
        event_type=event_type,
    )
    typer.echo(f"queued {count} event(s) for redelivery")


@webhooks_app.command("listen")
def listen(
    secret: Annotated[
        list[str], typer.Option(help="an endpoint secret (whsec_...); repeat during a rotation")
    ],
    port: Annotated[int, typer.Option(help="port to listen on (127.0.0.1)")] = 8020,
) -> None:
    """Receive webhooks locally, verify each with the standardwebhooks package, and print
    one line per delivery. Register http://127.0.0.1:PORT/webhooks as an endpoint."""
    from refundry.entrypoints.webhook_listener import ListenerState, describe, running_listener

    state = ListenerState(
        signing_secrets=list(secret),
        on_receive=lambda received: typer.echo(describe(received)),
    )
    with running_listener(port, state) as url:
        typer.echo(f"listening on {url}", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
