"""A webhook goes to the address that was checked, not to whatever the name resolves to
by the time the connection is made (DNS rebinding), and TLS still checks the name.

The outside world is faked, nothing else: the name server (``resolve``) and the route to a
public address (``open_socket``, which carries a public address to a receiver on loopback).
The receivers, the HTTP and the TLS are real.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.domain.webhooks import DeliveryAttempt
from refundry.services.handlers.webhooks import new_secret
from tests.integration.test_webhook_connections import Receiver, serve

PUBLIC = "93.184.215.14"  # never connected to: the fake network carries it to a receiver
OTHER_PUBLIC = "1.1.1.1"


@dataclass
class FakeInternet:
    """Name servers answering ``answers`` in turn (the last one thereafter), and a network
    on which each public address in ``routes`` is a receiver's port on loopback."""

    answers: list[list[str]]
    routes: dict[str, int] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    opened: list[tuple[str, int]] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]

    def open_socket(self, address: tuple[str, int], timeout: float | None) -> socket.socket:
        self.opened.append(address)
        host = address[0]
        if host in self.routes:
            return socket.create_connection(("127.0.0.1", self.routes[host]), timeout)
        if host == "127.0.0.1":
            return socket.create_connection(address, timeout)
        raise ConnectionRefusedError(f"no route to {host} in this test")

    def sender(self, **options: Any) -> HttpWebhookSender:
        return HttpWebhookSender(
            timedelta(seconds=2), resolve=self.resolve, open_socket=self.open_socket, **options
        )


def send(sender: HttpWebhookSender, url: str) -> DeliveryAttempt:
    return sender.send(url, "evt-1", '{"n":1}', [new_secret()], datetime.now(UTC))


def port_of(receiver: Receiver) -> int:
    return int(receiver.server_address[1])


def test_a_name_answering_public_then_loopback_is_sent_to_the_public_address_only() -> None:
    for internal in serve():  # a service on the worker's own machine
        # HTTP/1.0: a connection per request, so each delivery opens (and looks up) anew
        for public in serve(http11=False):
            # given a name whose first answer is public and every later one loopback, on the
            # port the internal service listens on
            internet = FakeInternet([[PUBLIC], ["127.0.0.1"]], routes={PUBLIC: port_of(public)})
            sender = internet.sender()
            url = f"http://rebind.example:{port_of(internal)}/hooks"
            # when two deliveries are made there
            first, second = send(sender, url), send(sender, url)
            sender.close()
            # then the first went to the address its look-up gave and was checked, still
            # naming the host; the second's look-up gave loopback and it was refused
            assert (first.status_code, first.error) == (200, None)
            assert public.requests[0]["host"] == f"rebind.example:{port_of(internal)}"
            assert second.status_code is None
            assert second.error == "refused: rebind.example is a private or loopback address"
            assert internet.lookups == ["rebind.example"] * 2
            assert internet.opened == [(PUBLIC, port_of(internal))]
            assert internal.requests == []


def test_one_private_answer_among_public_ones_refuses_the_delivery() -> None:
    internet = FakeInternet([[PUBLIC, "10.0.0.7"]])
    attempt = send(internet.sender(), "http://mixed.example/hooks")
    assert attempt.error == "refused: mixed.example is a private or loopback address"
    assert internet.opened == []


def test_the_checked_addresses_are_tried_in_turn() -> None:
    for public in serve():
        internet = FakeInternet([[OTHER_PUBLIC, PUBLIC]], routes={PUBLIC: port_of(public)})
        sender = internet.sender()
        attempt = send(sender, "http://two.example/hooks")
        sender.close()
        assert attempt.status_code == 200
        assert internet.opened == [(OTHER_PUBLIC, 80), (PUBLIC, 80)]


def test_with_private_networks_allowed_the_connection_is_made_by_name_unchecked() -> None:
    for receiver in serve():
        internet = FakeInternet([["must not be asked"]])
        sender = internet.sender(allow_private_networks=True)
        attempt = send(sender, receiver.url)
        sender.close()
        assert attempt.status_code == 200
        assert internet.lookups == []
        assert internet.opened == [("127.0.0.1", port_of(receiver))]


# ------------------------------------------------------------------ TLS
class TlsReceiver(ThreadingHTTPServer):
    """Answers 200 over TLS with a certificate for ``certified``; records the server name
    each client sent (SNI) and each request's Host header."""

    daemon_threads = True

    def __init__(self, authority: trustme.CA, certified: str) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                server.hosts.append(self.headers["host"])
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(certified).configure_cert(context)

        def record(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            self.server_names.append(name)

        context.sni_callback = record
        self.socket = context.wrap_socket(self.socket, server_side=True)


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


def tls_receiver(authority: trustme.CA, certified: str) -> Iterator[TlsReceiver]:
    receiver = TlsReceiver(authority, certified)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
    receiver.server_close()


def test_https_to_the_checked_address_names_the_host_for_sni_and_the_certificate(
    authority: trustme.CA,
) -> None:
    for receiver in tls_receiver(authority, "hooks.example"):
        # given a name resolving to a public address, and a receiver there whose
        # certificate is for that name (not for the address)
        internet = FakeInternet([[PUBLIC]], routes={PUBLIC: port_of(receiver)})
        trusted = ssl.create_default_context()
        authority.configure_trust(trusted)
        sender = internet.sender(ssl_context=trusted)
        # when a delivery is made there
        attempt = send(sender, f"https://hooks.example:{port_of(receiver)}/hooks")
        sender.close()
        # then it went to the address, and TLS and HTTP named the host
        assert (attempt.status_code, attempt.error) == (200, None)
        assert internet.opened == [(PUBLIC, port_of(receiver))]
        assert receiver.server_names == ["hooks.example"]
        assert receiver.hosts == [f"hooks.example:{port_of(receiver)}"]


def test_https_to_the_checked_address_refuses_a_certificate_for_another_name(
    authority: trustme.CA,
) -> None:
    for receiver in tls_receiver(authority, "other.example"):
        internet = FakeInternet([[PUBLIC]], routes={PUBLIC: port_of(receiver)})
        trusted = ssl.create_default_context()
        authority.configure_trust(trusted)
        sender = internet.sender(ssl_context=trusted)
        attempt = send(sender, f"https://hooks.example:{port_of(receiver)}/hooks")
        sender.close()
        assert attempt.status_code is None
        assert attempt.error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
        assert receiver.hosts == []
