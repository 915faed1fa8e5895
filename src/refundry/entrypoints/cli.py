"""The ``refundry`` command: serve, migrate, merchants, demo."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from refundry.adapters import metrics
from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.migrate import migrate as run_migrations
from refundry.bootstrap import bootstrap
from refundry.config import DEFAULT_SANDBOX_WEBHOOK_SECRET, Settings
from refundry.domain.errors import InvalidInput, RefundryError
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.cli_reconcile import reconcile_app
from refundry.entrypoints.cli_verify import verify
from refundry.entrypoints.cli_webhooks import webhooks_app
from refundry.entrypoints.log_redaction import redact_root_handlers, uvicorn_log_config
from refundry.services import clock, transactions
from refundry.services.handlers import merchant_float
from refundry.services.handlers.merchants import create_merchant

if TYPE_CHECKING:
    from fastapi import FastAPI

    from refundry.bootstrap import Container

app = typer.Typer(help="Refundry: cancel orders and refund money correctly.", no_args_is_help=True)
merchants_app = typer.Typer(help="Manage merchants and their API keys.", no_args_is_help=True)
app.add_typer(merchants_app, name="merchants")
invoices_app = typer.Typer(help="Merchant float invoice cycles.", no_args_is_help=True)
app.add_typer(invoices_app, name="invoices")
reports_app = typer.Typer(help="Reports as files.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(reconcile_app, name="reconcile")
users_app = typer.Typer(help="Dashboard users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.command()(verify)

DEMO_DATABASE = "refundry-demo.db"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes")] = 1,
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="also run the background jobs in-process")
    ] = False,
) -> None:
    """Serve the API (migrating the database first).

    With ``--with-worker`` the background jobs run in this process too, and when cards
    go to the sandbox gateway and none answers, the sandbox starts here as well, sending
    its refund events to this API: one command gives the whole system.
    """
    import logging
    import threading

    import uvicorn

    from refundry.entrypoints.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    redact_root_handlers()
    container = bootstrap()  # migrate once here rather than racing in every worker
    if with_worker:
        if container.settings.card_provider == "sandbox" and _start_sandbox_psp_if_absent(
            container.settings.sandbox_psp_url,
            events_url=f"{_loopback_base(host, port)}/v1/providers/sandbox/events",
            events_secret=container.settings.sandbox_webhook_secret,
        ):
            container = _expecting_refund_events(container)
        threading.Thread(target=Worker(container).run, name="refundry-worker", daemon=True).start()
    bench = container.settings.bench_endpoints  # REFUNDRY_BENCH_ENDPOINTS=1
    with metrics.shared_by(workers):  # each worker's counters, added up on /metrics
        uvicorn.run(
            BENCH_API if bench else "refundry.entrypoints.api.asgi:app",
            factory=bench,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            log_config=uvicorn_log_config(),
        )


# Development only: the API with the HTTP benchmark's baseline endpoint, which `serve`
# runs with REFUNDRY_BENCH_ENDPOINTS=1 and `python -m benchmarks` serves.
BENCH_API = "refundry.entrypoints.cli:bench_api"


def bench_api() -> FastAPI:
    """An ASGI application factory (``uvicorn --factory``): the API as
    ``refundry.entrypoints.api.asgi`` serves it, plus ``POST /v1/_bench/rows``."""
    from refundry.entrypoints import bench_routes
    from refundry.entrypoints.api.app import create_app

    api = create_app(bootstrap(run_migrations=False))
    bench_routes.install(api)
    return api


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = Settings.from_env()
    run_migrations(create_engine(settings.database_url))
    typer.echo(f"migrated {_redacted(settings.database_url)}")


@merchants_app.command("create")
def merchants_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create a merchant and print its API key (shown only this once)."""
    container = bootstrap()
    created = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, name))
    if as_json:
        typer.echo(
            json.dumps({"merchant_id": str(created.merchant.id), "api_key": created.api_key})
        )
    else:
        typer.echo(f"merchant {created.merchant.id} ({created.merchant.name})")
        typer.echo(f"API key (shown once): {created.api_key}")


@invoices_app.command("close")
def invoices_close(
    at: Annotated[
        datetime | None,
        typer.Option(help="close the cycles due at this UTC time (default: now)"),
    ] = None,
) -> None:
    """Close every due invoice cycle: apply pending float credits, write the statements."""
    container = bootstrap()
    now = (at.replace(tzinfo=UTC) if at and at.tzinfo is None else at) or clock.utcnow()
    for merchant_id, invoice in merchant_float.close_all_due_cycles(container.uow_factory, now):
        typer.echo(
            f"{merchant_id} {invoice.period_start:%Y-%m-%d}..{invoice.period_end:%Y-%m-%d} "
            f"credits {invoice.credits} closing {invoice.closing_balance}"
        )
    typer.echo(f"closed every cycle due by {now.isoformat()}")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="run every job once, then exit")] = False,
    interval: Annotated[float, typer.Option(help="seconds between rounds")] = 1.0,
) -> None:
    """Run the background jobs until stopped: provider refunds and voids from the outbox,
    webhook deliveries, invoice-cycle closes, the authorization watch."""
    import logging

    from refundry.entrypoints.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    redact_root_handlers()
    Worker(bootstrap()).run(once=once, interval=interval)


@app.command("sandbox-psp")
def sandbox_psp(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
    events_url: Annotated[
        str | None, typer.Option(help="POST a signed event here as each refund settles")
    ] = None,
    events_secret: Annotated[
        str,
        typer.Option(help="the events' signing secret", envvar="REFUNDRY_SANDBOX_WEBHOOK_SECRET"),
    ] = DEFAULT_SANDBOX_WEBHOOK_SECRET,
) -> None:
    """Run the sandbox card gateway (a subset of Stripe's API, state in memory).

    With ``--events-url`` (Refundry's is ``http://HOST:PORT/v1/providers/sandbox/events``)
    it tells of every settled refund there, signed as Stripe signs its events."""
    import uvicorn

    from refundry.sandbox_psp.app import create_app
    from refundry.sandbox_psp.events import EventsConfig

    events = EventsConfig(url=events_url, secret=events_secret)
    uvicorn.run(create_app(events=events), host=host, port=port, log_level="warning")


@app.command()
def seed(
    orders: Annotated[int, typer.Option("--orders", min=1, help="how many orders")] = 1000,
    days: Annotated[
        int, typer.Option(min=1, max=3 * 365, help="spread over the last N days")
    ] = 365,
    name: Annotated[str, typer.Option(help="the new merchant's name")] = "Generated Shop",
    random_seed: Annotated[int, typer.Option("--seed", help="same seed, same data")] = 7,
) -> None:
    """Generate a realistic data set for a new merchant (benchmarks, reports, demos)."""
    from datetime import timedelta

    from refundry.entrypoints import seed_data

    container = bootstrap()
    created = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, name))
    end = clock.utcnow()
    generated = seed_data.generate(
        created.merchant.id, orders, start=end - timedelta(days=days), end=end, seed=random_seed
    )
    with typer.progressbar(length=orders, label="orders", file=sys.stderr) as bar:
        written = seed_data.insert(container.uow_factory, generated, progress=bar.update)
    typer.echo(json.dumps({"merchant_id": str(created.merchant.id), "api_key": created.api_key,
                           "orders": written}))  # fmt: skip


@reports_app.command("refunds")
def reports_refunds(
    merchant: Annotated[str, typer.Option(help="the merchant's id")],
    first_day: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    last_day: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    out: Annotated[Path, typer.Option(help="CSV file to write")],
) -> None:
    """Write the refunds report of a date range (merchant's time zone) as CSV."""
    import uuid

    from refundry.domain.reporting import RefundFilters
    from refundry.entrypoints.refund_report_csv import refund_report_csv
    from refundry.services.views import reports

    container = bootstrap()
    merchant_id = uuid.UUID(merchant)
    first, last, filters = first_day.date(), last_day.date(), RefundFilters()
    total = transactions.query(
        container.read_models,
        lambda read: reports.count_refunds_report(read, merchant_id, first, last, filters),
    )
    rows = reports.stream_refunds_report(container.read_models, merchant_id, first, last, filters)
    with (
        out.open("w", encoding="utf-8", newline="") as handle,
        typer.progressbar(length=total, label="refunds", file=sys.stderr) as bar,
    ):
        for number, line in enumerate(refund_report_csv(rows)):
            handle.write(line)
            if number:  # the first line is the header
                bar.update(1)
    typer.echo(f"wrote {total} refunds to {out}")


@users_app.command("create")
def users_create(
    merchant: Annotated[str, typer.Option(help="the merchant's id")],
    email: Annotated[str, typer.Option(help="the login")],
    role: Annotated[Role, typer.Option(help="admin: everything; staff: what is granted")] = (
        Role.ADMIN
    ),
    permission: Annotated[
        list[Permission] | None, typer.Option(help="for staff; repeat for more")
    ] = None,
) -> None:
    """Create a dashboard user (the first admin, say) and print a generated password,
    shown this once."""
    import secrets
    import uuid

    from refundry.services.handlers import staff

    try:
        merchant_id = uuid.UUID(merchant)
    except ValueError:
        raise InvalidInput(f"--merchant must be a merchant id, not {merchant!r}") from None
    container = bootstrap()
    password = secrets.token_urlsafe(15)
    member = transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, email, password, role=role, permissions=permission or ()
        ),
    )
    typer.echo(f"created {member.role.value} {member.email}; password: {password}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    database: Annotated[Path, typer.Option(help="SQLite file, recreated")] = Path(DEMO_DATABASE),
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve after seeding")
    ] = True,
    psp_port: Annotated[int, typer.Option(help="port of the in-process sandbox gateway")] = 8010,
) -> None:
    """Create a fresh SQLite demo database with sample orders, print its key, then serve
    the API with the worker and the sandbox card gateway in-process."""
    from refundry.entrypoints.demo_data import (
        DEMO_ADMIN_EMAIL,
        DEMO_ADMIN_PASSWORD,
        DEMO_API_KEY_SECRET,
        seed_demo,
    )

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    # The server processes read their settings from the environment.
    os.environ["REFUNDRY_DATABASE_URL"] = url
    os.environ["REFUNDRY_CARD_PROVIDER"] = "sandbox"
    os.environ["REFUNDRY_SANDBOX_PSP_URL"] = f"http://127.0.0.1:{psp_port}"
    # The demo's webhook receivers are local (`refundry webhooks listen`).
    os.environ["REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "1"
    os.environ["REFUNDRY_DASHBOARD_SECURE_COOKIES"] = "0"  # plain HTTP on loopback
    container = bootstrap(Settings.from_env())
    summary = seed_demo(container.uow_factory, container.quotes, api_secret=DEMO_API_KEY_SECRET)
    typer.echo(f"demo database: {database} ({summary.orders} orders)")
    typer.echo(f"merchant:      {summary.merchant_id}")
    typer.echo(f"API key:       {summary.api_key}")
    typer.echo(f"API:           http://127.0.0.1:{port}/v1   docs: http://127.0.0.1:{port}/docs")
    typer.echo(f"dashboard:     http://127.0.0.1:{port}/dashboard")
    typer.echo(f"  sign in as   {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
    if serve_api:
        serve(host="127.0.0.1", port=port, workers=1, with_worker=True)


def _start_sandbox_psp_if_absent(url: str, *, events_url: str, events_secret: str) -> bool:
    """``True`` when it started one here (whose refund events come to ``events_url``)."""
    import socket
    import threading
    from urllib.parse import urlsplit

    import uvicorn

    from refundry.sandbox_psp.app import create_app
    from refundry.sandbox_psp.events import EventsConfig

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost"):
        return False  # a remote sandbox is someone else's to run
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return False  # one is already listening
    # Its first events may come before the API listens; the sandbox retries them.
    sandbox = create_app(events=EventsConfig(url=events_url, secret=events_secret))
    server = uvicorn.Server(uvicorn.Config(sandbox, host=host, port=port, log_level="warning"))
    threading.Thread(target=server.run, name="sandbox-psp", daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        threading.Event().wait(0.05)
    typer.echo(f"sandbox PSP:   {url} (in-process; state in memory; events to {events_url})")
    return True


def _expecting_refund_events(container: Container) -> Container:
    """The sandbox started here sends its refund events to this API: refunds settle from
    them, and the worker polls only as a fallback (REFUNDRY_REFUND_EVENTS_EXPECTED)."""
    work = container.provider_work
    policy = dataclasses.replace(work.policy, events_expected=True)
    return dataclasses.replace(container, provider_work=dataclasses.replace(work, policy=policy))


def _loopback_base(host: str, port: int) -> str:
    """This server's address as a local client reaches it (a wildcard means loopback)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 -- compared, not bound
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """The ``refundry`` script. Every command's refusals end here, in one place.

    A domain error is the user's request refused (a blank name, an unknown id), not a
    bug: it is printed as one line on stderr and the exit code is 1, never a traceback.
    """
    try:
        app()
    except RefundryError as error:
        detail = " ".join(error.detail.splitlines())
        typer.echo(f"refundry: {detail} ({error.code})", err=True)
        raise SystemExit(1) from None
