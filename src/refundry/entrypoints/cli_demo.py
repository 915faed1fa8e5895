"""``refundry demo``: a fresh SQLite database with sample data, served with the worker and
the sandbox card gateway. It starts quietly (warnings only) and prints how to sign in
last, once the API answers, so nothing pushes it off the screen."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.entrypoints.cli_serve import run_api

# Not the CLI's default database (refundry.db): the demo deletes its file at each start,
# and must never take someone's own database with it. It prints how to point the CLI at it.
DEMO_DATABASE = "refundry-demo.db"


def demo(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    database: Annotated[Path, typer.Option(help="SQLite file, recreated")] = Path(DEMO_DATABASE),
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve after seeding")
    ] = True,
    psp_port: Annotated[int, typer.Option(help="port of the in-process sandbox gateway")] = 8010,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="log start-up, every request and the worker")
    ] = False,
) -> None:
    """Create a fresh SQLite demo database with sample orders, then serve the API with
    the worker and the sandbox card gateway in-process, and print how to sign in."""
    from refundry.entrypoints.demo_data import DEMO_API_KEY_SECRET, seed_demo

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.absolute()}"
    # The server processes read their settings from the environment.
    os.environ["REFUNDRY_DATABASE_URL"] = url
    os.environ["REFUNDRY_CARD_PROVIDER"] = "sandbox"
    os.environ["REFUNDRY_SANDBOX_PSP_URL"] = f"http://127.0.0.1:{psp_port}"
    # The demo's webhook receivers are local (`refundry webhooks listen`).
    os.environ["REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "1"
    os.environ["REFUNDRY_DASHBOARD_SECURE_COOKIES"] = "0"  # plain HTTP on loopback
    container = bootstrap(Settings.from_env())
    summary = seed_demo(container.uow_factory, container.quotes, api_secret=DEMO_API_KEY_SECRET)
    container.engine.dispose()
    block = _sign_in_block(
        port, url, psp_port, summary.merchant_id, summary.api_key, summary.orders, verbose
    )
    if not serve_api:
        typer.echo(block)
        return
    run_api(
        host="127.0.0.1",
        port=port,
        workers=1,
        with_worker=True,
        quiet=not verbose,
        when_answering=lambda: typer.echo(block),
    )


def _sign_in_block(
    port: int,
    url: str,
    psp_port: int,
    merchant_id: uuid.UUID,
    api_key: str,
    orders: int,
    verbose: bool,
) -> str:
    from refundry.entrypoints.demo_data import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD

    base = f"http://127.0.0.1:{port}"
    logs = "Every request is logged." if verbose else "Only warnings are logged (--verbose: all)."
    return "\n".join(
        [
            "",
            "=" * 78,
            f"Refundry demo: {orders} sample orders; the API, the worker and the sandbox card",
            f"gateway run in this process (Ctrl+C stops them). {logs}",
            f"  API:          {base}/v1   docs: {base}/docs",
            f"  API key:      {api_key}",
            f"  dashboard:    {base}/dashboard",
            f"    sign in as  {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}",
            f"  merchant:     {merchant_id}",
            f"  sandbox PSP:  http://127.0.0.1:{psp_port} (card gateway, state in memory)",
            "  CLI commands (refundry verify, reports, ...) on the demo's database need:",
            f"    export REFUNDRY_DATABASE_URL={url}",
            "=" * 78,
        ]
    )
