"""``refundry serve``, ``refundry worker`` and ``refundry sandbox-psp``: the long-running
processes, logging as ``REFUNDRY_LOG_FORMAT`` says (``entrypoints.log_setup``)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from refundry.adapters import metrics
from refundry.bootstrap import bootstrap
from refundry.config import DEFAULT_SANDBOX_WEBHOOK_SECRET, Settings
from refundry.entrypoints import log_setup

if TYPE_CHECKING:
    from refundry.bootstrap import Container

logger = logging.getLogger("refundry.cli")

# Development only: the API with the HTTP benchmark's baseline endpoint, which `serve`
# runs with REFUNDRY_BENCH_ENDPOINTS=1 and `python -m benchmarks` serves.
BENCH_API = "refundry.entrypoints.cli:bench_api"


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
    run_api(host=host, port=port, workers=workers, with_worker=with_worker)


def run_api(
    *,
    host: str,
    port: int,
    workers: int,
    with_worker: bool,
    quiet: bool = False,
    when_answering: Callable[[], None] | None = None,
) -> None:
    """``serve``; ``quiet`` logs warnings only (no start-up lines, no access log), and
    ``when_answering`` is called once the API answers (the demo prints its sign-in then)."""
    import uvicorn

    from refundry.entrypoints.api.header_deadline import PROTOCOL
    from refundry.entrypoints.worker import Worker

    settings = Settings.from_env()
    log_config = log_setup.configure(settings.log_format, "WARNING" if quiet else "INFO")
    container = bootstrap(settings)  # migrate once here rather than racing in every worker
    if with_worker:
        if container.settings.card_provider == "sandbox" and _start_sandbox_psp_if_absent(
            container.settings.sandbox_psp_url,
            events_url=f"{_loopback_base(host, port)}/v1/providers/sandbox/events",
            events_secret=container.settings.sandbox_webhook_secret,
        ):
            container = _expecting_refund_events(container)
        threading.Thread(target=Worker(container).run, name="refundry-worker", daemon=True).start()
    if when_answering is not None:
        _call_when_answering(f"{_loopback_base(host, port)}/healthz", when_answering)
    bench = settings.bench_endpoints  # REFUNDRY_BENCH_ENDPOINTS=1
    with metrics.shared_by(workers):  # each worker's counters, added up on /metrics
        uvicorn.run(
            BENCH_API if bench else "refundry.entrypoints.api.asgi:app",
            factory=bench,
            host=host,
            port=port,
            workers=workers,
            http=PROTOCOL,  # uvicorn's default, with a deadline on each request's headers
            log_level="warning" if quiet else "info",
            log_config=log_config,
        )


def worker(
    once: Annotated[bool, typer.Option(help="run every job once, then exit")] = False,
    interval: Annotated[float, typer.Option(help="seconds between rounds")] = 1.0,
) -> None:
    """Run the background jobs until stopped: provider refunds and voids from the outbox,
    webhook deliveries, invoice-cycle closes, the authorization watch."""
    from refundry.entrypoints.worker import Worker

    settings = Settings.from_env()
    log_setup.configure(settings.log_format)
    Worker(bootstrap(settings)).run(once=once, interval=interval)


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


def _start_sandbox_psp_if_absent(url: str, *, events_url: str, events_secret: str) -> bool:
    """``True`` when it started one here (whose refund events come to ``events_url``)."""
    import socket
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
    # log_config=None: the logging set up for this process stays as it is.
    config = uvicorn.Config(sandbox, host=host, port=port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="sandbox-psp", daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        threading.Event().wait(0.05)
    logger.info("sandbox PSP at %s (in-process; state in memory; events to %s)", url, events_url)
    return True


def _expecting_refund_events(container: Container) -> Container:
    """The sandbox started here sends its refund events to this API: refunds settle from
    them, and the worker polls only as a fallback (REFUNDRY_REFUND_EVENTS_EXPECTED)."""
    work = container.provider_work
    policy = dataclasses.replace(work.policy, events_expected=True)
    return dataclasses.replace(container, provider_work=dataclasses.replace(work, policy=policy))


def _call_when_answering(url: str, then: Callable[[], None]) -> None:
    """Calls ``then`` once ``url`` answers 200, from a thread of its own (the server runs
    in this one); a server that never starts ends the process, and the thread with it."""
    import httpx

    def wait() -> None:
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        then()

    threading.Thread(target=wait, name="when-answering", daemon=True).start()


def _loopback_base(host: str, port: int) -> str:
    """This server's address as a local client reaches it (a wildcard means loopback)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 -- compared, not bound
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
