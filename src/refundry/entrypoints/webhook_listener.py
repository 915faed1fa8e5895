"""A local webhook receiver: ``refundry webhooks listen``, and the tests' receiver.

It verifies every delivery with the ``standardwebhooks`` package (any of the secrets it
was given may match, as during a rotation) and keeps what it got. It can be told to
answer with another status or to hang, to show how Refundry retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True, slots=True)
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified_with: tuple[int, ...]  # indexes of the secrets that verified it

    @property
    def verified(self) -> bool:
        return bool(self.verified_with)

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class ListenerState:
    signing_secrets: list[str] = field(default_factory=list)
    status_code: int = 200
    hang_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    on_receive: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[int, ...]:
        matched = []
        for index, secret in enumerate(self.signing_secrets):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            matched.append(index)
        return tuple(matched)

    def delivered(self) -> list[Received]:
        """Deliveries answered 2xx are not told apart here: all that arrived, in order."""
        with self.lock:
            return list(self.received)


def _handler(state: ListenerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went away mid-body (a worker killed while sending): no
                # delivery arrived, so nothing is kept and nobody is left to answer.
                self.close_connection = True
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            received = Received(
                webhook_id=headers.get("webhook-id", ""),
                headers=headers,
                body=body,
                verified_with=state.verify(body, headers),
            )
            with state.lock:
                state.received.append(received)
            if state.on_receive is not None:
                state.on_receive(received)
            if state.hang_seconds:
                time.sleep(state.hang_seconds)
            status = state.status_code if received.verified else 400
            answer = b'{"ok":true}' if status < 300 else b'{"error":"refused"}'
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                # The sender gave up after sending the whole body (its timeout, or a
                # killed worker): what arrived is kept, and the sender will retry.
                self.close_connection = True

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the listener prints what it verifies, not an access log

    return Handler


@contextmanager
def running_listener(port: int, state: ListenerState) -> Iterator[str]:
    """Serve on 127.0.0.1:``port`` in a thread; yields the URL to register."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def describe(received: Received) -> str:
    """One line per delivery, as ``refundry webhooks listen`` prints it."""
    verdict = "verified" if received.verified else "NOT VERIFIED"
    try:
        payload = received.payload
        data = payload.get("data", {})
        refund = data.get("refund") or {}
        return (
            f"{verdict} {payload.get('type')} {received.webhook_id} "
            f"order={data.get('order', {}).get('id')} sequence={data.get('sequence')} "
            f"refund_status={refund.get('status')} amount={refund.get('amount')}"
        )
    except (ValueError, AttributeError):
        return f"{verdict} {received.webhook_id} (body is not JSON)"
