"""The webhook sender against receivers that misbehave on a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.services.handlers.webhooks import new_secret


@pytest.fixture
def trickling_receiver() -> Iterator[str]:
    """Answers a byte every 0.3 s: each read is quick, the whole answer takes minutes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" * 20:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    stop.set()
    listener.close()


def test_a_trickling_receiver_is_cut_off_at_the_whole_requests_timeout(
    trickling_receiver: str,
) -> None:
    # given a sender with a 1 s timeout
    sender = HttpWebhookSender(timedelta(seconds=1), allow_private_networks=True)
    # when the receiver trickles its answer
    started = time.monotonic()
    attempt = sender.send(trickling_receiver, "evt-1", "{}", [new_secret()], datetime.now(UTC))
    # then the attempt ends as a timeout near 1 s, not when the answer ends
    assert time.monotonic() - started < 3
    assert attempt.status_code is None
    assert attempt.error == "timed out after 1 s"


def test_a_refused_connection_is_a_failed_attempt_with_a_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = HttpWebhookSender(timedelta(seconds=2), allow_private_networks=True)
    attempt = sender.send(
        f"http://127.0.0.1:{port}/", "evt-1", "{}", [new_secret()], datetime.now(UTC)
    )
    assert attempt.status_code is None
    assert attempt.error is not None
    assert "ConnectError" in attempt.error


def test_the_private_address_check_looks_up_the_name_the_connection_will_use() -> None:
    # given a Unicode host whose IDNA 2003 and 2008 spellings are different domains
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    sender = HttpWebhookSender(timedelta(seconds=2), resolve=resolve)
    # when a delivery is made there
    attempt = sender.send(
        "http://straße.example/hooks", "evt-1", "{}", [new_secret()], datetime.now(UTC)
    )
    # then the name looked up is the one httpx would send (IDNA 2008), not strasse.example
    assert asked == ["xn--strae-oqa.example"]
    assert attempt.error == "refused: straße.example is a private or loopback address"
