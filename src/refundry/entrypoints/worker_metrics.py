"""The worker's own ``/metrics`` on ``REFUNDRY_WORKER_METRICS_PORT`` (off by default): its
rounds, jobs, messages, provider calls and reconciliation runs, in Prometheus text, from
a thread beside the jobs. The stored state (refunds, the outbox backlog) is the API's
``/metrics``: any process reads the same figures there."""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import make_wsgi_app

from refundry.adapters.metrics import per_process_metrics
from refundry.config import Settings

logger = logging.getLogger("refundry.worker")


@contextmanager
def worker_metrics_server(settings: Settings) -> Iterator[WSGIServer | None]:
    """Serve the worker's metrics while the block runs, if a port is set."""
    if not settings.worker_metrics_port:
        yield None
        return
    app = make_wsgi_app(per_process_metrics())
    try:
        server = make_server(
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            _guarded(app, settings.metrics_token),
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
    except OSError as error:
        # Money must still move: the worker runs on without its metrics, and says why.
        logger.error(
            "worker metrics not served on %s:%d: %s; the worker runs on without them",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            error,
        )
        yield None
        return
    thread = threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True)
    thread.start()
    logger.info(
        "worker metrics on http://%s:%d/metrics", settings.worker_metrics_host, server.server_port
    )
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _guarded(app: WSGIApplication, token: str | None) -> WSGIApplication:
    if token is None:
        return app
    expected = f"Bearer {token}".encode()

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sent = str(environ.get("HTTP_AUTHORIZATION", "")).strip().encode()
        if not hmac.compare_digest(sent, expected):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"send the metrics token as `Authorization: Bearer <token>`\n"]
        return app(environ, start_response)

    return guarded


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """A thread a connection, so one client that connects and sends nothing holds up
    only itself (wsgiref's server answers one connection at a time)."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # seconds a connection may stay silent before it is closed

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would fill the worker's log."""
