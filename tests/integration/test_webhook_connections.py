"""The webhook sender keeps connections alive, and reuses one only when that is safe: the
answer was read to its end and the receiver neither asked to close nor closed it since."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.domain.webhooks import DeliveryAttempt
from refundry.services.handlers.webhooks import new_secret


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: bytes, *, chunked: bool, close_after: bool, http11: bool) -> None:
        self.answer, self.chunked, self.close_after = answer, chunked, close_after
        self.connections = 0
        self.requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if http11 else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with server.lock:
                    server.connections += 1

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                with server.lock:
                    server.requests.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                if server.chunked:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    half = len(server.answer) // 2
                    for part in (server.answer[:half], server.answer[half:], b""):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                else:
                    self.send_header("content-length", str(len(server.answer)))
                    self.end_headers()
                    self.wfile.write(server.answer)
                # Closes without saying so, as a receiver's idle timeout does.
                self.close_connection = server.close_after

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


def serve(**behaviour: Any) -> Iterator[Receiver]:
    options = {"answer": b'{"ok":true}', "chunked": False, "close_after": False, "http11": True}
    receiver = Receiver(**{**options, **behaviour})
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
    receiver.server_close()


@pytest.fixture
def sender() -> Iterator[HttpWebhookSender]:
    made = HttpWebhookSender(timedelta(seconds=2), allow_private_networks=True)
    yield made
    made.close()


def send_three(sender: HttpWebhookSender, url: str, pause: float = 0.0) -> list[DeliveryAttempt]:
    secret = new_secret()
    attempts = []
    for number in range(3):
        attempts.append(sender.send(url, f"evt-{number}", '{"n":1}', [secret], datetime.now(UTC)))
        time.sleep(pause)
    return attempts


def test_requests_to_a_receiver_that_keeps_connections_alive_share_one(
    sender: HttpWebhookSender,
) -> None:
    for receiver in serve():
        attempts = send_three(sender, receiver.url)
        assert [(a.status_code, a.response_excerpt, a.error) for a in attempts] == [
            (200, '{"ok":true}', None)
        ] * 3
        assert receiver.connections == 1
        headers = receiver.requests[0]
        assert headers["user-agent"] == "Refundry-Webhooks/1"
        assert headers["content-type"] == "application/json"
        assert headers["webhook-id"] == "evt-0"
        assert headers["host"] == receiver.url.split("/")[2]


def test_a_chunked_answer_is_read_to_its_end_and_the_connection_reused(
    sender: HttpWebhookSender,
) -> None:
    for receiver in serve(chunked=True, answer=b'{"received":"yes"}'):
        attempts = send_three(sender, receiver.url)
        assert {a.response_excerpt for a in attempts} == {'{"received":"yes"}'}
        assert receiver.connections == 1


@pytest.mark.parametrize("behaviour", [{"http11": False}, {"close_after": True}])
def test_a_receiver_that_closes_its_connections_gets_a_new_one_each_time(
    sender: HttpWebhookSender, behaviour: dict[str, bool]
) -> None:
    # HTTP/1.0 says it closes; the other closes without a word, like an idle timeout (a
    # request racing the close would fail, and be retried later like any failed attempt)
    for receiver in serve(**behaviour):
        attempts = send_three(sender, receiver.url, pause=0.2)
        assert [a.status_code for a in attempts] == [200, 200, 200]
        assert receiver.connections == 3


def test_a_long_answer_is_cut_to_its_first_kilobyte_and_its_connection_not_reused(
    sender: HttpWebhookSender,
) -> None:
    for receiver in serve(answer=b"x" * 5000):
        attempts = send_three(sender, receiver.url)
        assert {a.response_excerpt for a in attempts} == {"x" * 1024}
        assert receiver.connections == 3


def test_with_a_proxy_in_the_environment_requests_go_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a proxy (a receiver taking the request's absolute URL), named in the environment
    for proxy in serve():
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.url.split('/')[2]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        sender = HttpWebhookSender(timedelta(seconds=2), allow_private_networks=True)
        # when a request goes to a host that does not resolve here
        attempts = send_three(sender, "http://receiver.invalid/hooks")
        sender.close()
        # then the proxy carried it
        assert [a.status_code for a in attempts] == [200, 200, 200]
        assert len(proxy.requests) == 3
        assert proxy.requests[0]["host"] == "receiver.invalid"
