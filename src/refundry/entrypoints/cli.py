"""The ``refundry`` command: its commands, ``--version``, and the one place where every
refusal a user can cause becomes one line on stderr (``main``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.exc import ArgumentError, OperationalError

from refundry import __version__
from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.migrate import migrate as run_migrations
from refundry.bootstrap import bootstrap
from refundry.config import InvalidSetting, Settings
from refundry.domain.errors import DatabaseUnavailable, RefundryError
from refundry.domain.staff import Permission, Role
from refundry.entrypoints.cli_database import NoDatabase, existing_database
from refundry.entrypoints.cli_demo import demo
from refundry.entrypoints.cli_reconcile import parse_merchant_id, reconcile_app
from refundry.entrypoints.cli_serve import sandbox_psp, serve, worker
from refundry.entrypoints.cli_verify import verify
from refundry.entrypoints.cli_webhooks import webhooks_app
from refundry.services import clock, transactions
from refundry.services.handlers import merchant_float
from refundry.services.handlers.merchants import create_merchant

if TYPE_CHECKING:
    from fastapi import FastAPI

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
app.command()(serve)
app.command()(worker)
app.command("sandbox-psp")(sandbox_psp)
app.command()(demo)
app.command()(verify)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"refundry {__version__}")
        raise typer.Exit


@app.callback()
def options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Refundry: cancel orders and refund money correctly."""


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
    run_migrations(
        create_engine(settings.database_url, transaction_pooler=settings.transaction_pooler)
    )
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
    container = existing_database()
    now = (at.replace(tzinfo=UTC) if at and at.tzinfo is None else at) or clock.utcnow()
    for merchant_id, invoice in merchant_float.close_all_due_cycles(container.uow_factory, now):
        typer.echo(
            f"{merchant_id} {invoice.period_start:%Y-%m-%d}..{invoice.period_end:%Y-%m-%d} "
            f"credits {invoice.credits} closing {invoice.closing_balance}"
        )
    typer.echo(f"closed every cycle due by {now.isoformat()}")


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
    from refundry.domain.reporting import RefundFilters
    from refundry.entrypoints.actors import merchant_actors
    from refundry.entrypoints.refund_report_csv import refund_report_csv
    from refundry.services.views import reports

    merchant_id = parse_merchant_id(merchant)
    container = existing_database()
    first, last, filters = first_day.date(), last_day.date(), RefundFilters()
    total = transactions.query(
        container.lagging_reads,
        lambda read: reports.count_refunds_report(read, merchant_id, first, last, filters),
    )
    rows = reports.stream_refunds_report(container.lagging_reads, merchant_id, first, last, filters)
    actors = merchant_actors(container, merchant_id)
    with (
        out.open("w", encoding="utf-8", newline="") as handle,
        typer.progressbar(length=total, label="refunds", file=sys.stderr) as bar,
    ):
        for number, line in enumerate(refund_report_csv(rows, actors)):
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

    from refundry.services.handlers import staff

    merchant_id = parse_merchant_id(merchant)
    container = existing_database()
    password = secrets.token_urlsafe(15)
    member = transactions.run(
        container.uow_factory,
        lambda uow: staff.create_user(
            uow, merchant_id, email, password, role=role, permissions=permission or ()
        ),
    )
    typer.echo(f"created {member.role.value} {member.email}; password: {password}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """The ``refundry`` script. Every refusal a user can cause ends here, in one place: it
    is printed as one line on stderr, ``refundry: <reason>``, and the exit code is 1,
    never a traceback. A domain error is a request refused (a blank name, an unknown id)
    and names its code; the others are a database or setting the user gave that does not
    work, or a file that cannot be read or written. Anything else is a bug, and shows its
    traceback."""
    try:
        app()
    except RefundryError as error:
        _refuse(f"{error.detail} ({error.code})")
    except DatabaseUnavailable as error:  # the database could not be reached
        _refuse(f"{error} ({error.code})")
    except (NoDatabase, InvalidSetting, ArgumentError) as error:
        _refuse(str(error))
    except OperationalError as error:  # the database refused or did not answer
        _refuse(f"the database at {_redacted(Settings.from_env().database_url)}: {error.orig}")
    except OSError as error:  # a file named on the command line, a port to listen on
        _refuse(str(error))


def _refuse(reason: str) -> None:
    typer.echo(f"refundry: {' '.join(reason.split())}", err=True)
    raise SystemExit(1) from None
