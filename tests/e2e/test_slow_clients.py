"""Slow clients are cut off: a request's header block, or its body, trickled a byte at a
time is refused once its deadline passes, while an honest client on a slow link is served.

A real ``refundry serve`` with 2 s deadlines, spoken to through raw sockets. Nothing here
asserts how soon the server acts: only that it did before a deadline far above its own.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from collections.abc import Iterator

import pytest

from refundry.bootstrap import bootstrap
from refundry.config import Settings
from refundry.services import transactions
from refundry.services.handlers.merchants import create_merchant
from tests.conftest import order_body
from tests.servers import free_port, running_server, venv_script

DEADLINE_SECONDS = 2  # the server's, for headers and for bodies
PAUSE_SECONDS = 0.25  # between two bytes of a trickle, or two parts of an honest request
GIVE_UP_SECONDS = 40  # the test's: a connection still open by then was not cut off


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """The port of a real server with short deadlines, and a merchant's API key there."""
    url = f"sqlite:///{tmp_path_factory.mktemp('slow') / 'refundry.db'}"
    container = bootstrap(Settings(database_url=url))
    key = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "Shop")).api_key
    container.engine.dispose()
    port = free_port()
    env = {
        "REFUNDRY_DATABASE_URL": url,
        "REFUNDRY_HEADER_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
        "REFUNDRY_BODY_TIMEOUT_SECONDS": str(DEADLINE_SECONDS),
    }
    command = [venv_script("refundry"), "serve", "--port", str(port)]
    with running_server(command, port=port, env=env):
        yield port, key


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP_SECONDS)


def trickle_until_cut_off(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` a byte at a time until the server closes the connection; what the
    server said before it closed. ``data`` takes far longer than ``GIVE_UP_SECONDS``."""
    assert len(data) * PAUSE_SECONDS > GIVE_UP_SECONDS
    said = b""
    give_up = time.monotonic() + GIVE_UP_SECONDS
    for byte in data:
        if time.monotonic() > give_up:
            break
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # reset: closed
            return said
        readable, _, _ = select.select([sock], [], [], PAUSE_SECONDS)
        while readable:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return said
            if not chunk:
                return said
            said += chunk
            readable, _, _ = select.select([sock], [], [], 0)
    raise AssertionError(f"still open after {GIVE_UP_SECONDS} s of trickling")


def closed_by_server(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], GIVE_UP_SECONDS)
    try:
        return bool(readable) and sock.recv(1) == b""
    except OSError:
        return True


def test_the_default_deadlines_cut_a_trickle_off_within_30_seconds() -> None:
    settings = Settings()
    assert settings.header_timeout_seconds + settings.body_timeout_seconds <= 30


def test_a_header_block_trickled_is_cut_off_and_so_is_a_silent_connection(
    server: tuple[int, str],
) -> None:
    port, _ = server
    with connect(port) as silent, connect(port) as trickler:
        # given a connection that served a request and is kept alive
        trickler.sendall(b"GET /healthz HTTP/1.1\r\nHost: refundry\r\n\r\n")
        served = http.client.HTTPResponse(trickler)
        served.begin()
        assert served.status == 200
        served.read()
        # when its next request's headers come a byte at a time
        said = trickle_until_cut_off(trickler, b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"z" * 400)
        # then the server closed it, having answered nothing
        assert said == b""
        # and a connection that never said a word was closed too
        assert closed_by_server(silent)


def test_a_body_trickled_is_answered_408_and_the_connection_closed(
    server: tuple[int, str],
) -> None:
    port, key = server
    body = json.dumps(order_body()).encode()
    padded = body + b" " * 400  # JSON allows trailing spaces; the trickle never ends
    with connect(port) as sock:
        sock.sendall(
            b"POST /v1/orders HTTP/1.1\r\nHost: refundry\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {len(padded)}\r\n\r\n".encode()
        )
        said = trickle_until_cut_off(sock, padded)
    head, _, problem = said.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert json.loads(problem)["type"] == "https://refundry.dev/problems/request-timeout"


def test_an_honest_client_on_a_slow_link_is_served(server: tuple[int, str]) -> None:
    port, key = server
    body = json.dumps(order_body()).encode()
    head = (
        "POST /v1/orders HTTP/1.1\r\nHost: refundry\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(port) as sock:
        # headers in two parts and the body in two, a pause between each
        for part in (head[:40], head[40:], body[:100], body[100:]):
            sock.sendall(part)
            time.sleep(PAUSE_SECONDS)
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = json.loads(response.read())
    assert response.status == 201, answer
    assert answer["external_id"] == json.loads(body)["external_id"]


def test_a_body_over_the_limit_closes_the_connection(server: tuple[int, str]) -> None:
    port, key = server
    with connect(port) as sock:
        sock.sendall(
            b"POST /v1/orders HTTP/1.1\r\nHost: refundry\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n".encode()
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        assert response.status == 413
        assert response.getheader("connection") == "close"
        assert closed_by_server(sock)
