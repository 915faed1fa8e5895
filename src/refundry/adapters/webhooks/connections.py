"""Keep-alive HTTP/1.1 connections for the webhook sender, on the standard library's
``http.client``: a few times less CPU a request than a general-purpose client, which is
what bounds a worker's deliveries per second.

URLs are read the way httpx reads them (the endpoint's URL was checked with httpx: IDNA
hosts, percent-encoded paths), once per URL. A connection goes back to the pool only when
its answer was read to the end and the receiver did not ask to close it; an idle one is
dropped after ``IDLE_SECONDS``, or at once if its receiver has closed it meanwhile.

With a ``resolve`` (private networks not allowed) a new connection's name is looked up
once, every address checked (``addresses.py``), and the socket opened to a checked
address; the Host header, TLS's server name (SNI) and the certificate check still use the
name. A pooled connection is already to a checked address and is reused without a look-up.
"""

from __future__ import annotations

import functools
import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from refundry.adapters.webhooks.addresses import (
    OpenSocket,
    Resolve,
    open_tcp_socket,
    public_addresses,
)

IDLE_SECONDS = 5.0  # as httpx's keep-alive expiry
MAX_IDLE_PER_ORIGIN = 32


class ConnectError(OSError):
    """The connection could not be made (named as httpx names it, for the delivery log)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as the URL names it (what the private-address check resolves)
    connect_host: str  # ASCII (IDNA), as sent in the Host header
    port: int
    path: str  # the path and query, percent-encoded

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.connect_host, self.port)


@functools.lru_cache(maxsize=4096)
def target(url: str) -> Target:
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"not an http or https URL: {url}")
    return Target(
        scheme=parsed.scheme,
        host=parsed.host,
        connect_host=parsed.raw_host.decode("ascii"),
        port=parsed.port or (443 if parsed.scheme == "https" else 80),
        path=parsed.raw_path.decode("ascii"),
    )


def _connect(
    open_socket: OpenSocket, addresses: Sequence[str], port: int, timeout: float | None
) -> socket.socket:
    """A socket to the first of ``addresses`` that answers, as ``socket.create_connection``
    tries each address a name has; TCP_NODELAY on, as ``http.client`` sets it: a request's
    writes never wait for an ack."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            sock = open_socket((address, port), timeout)
        except OSError as error:  # refused, unreachable, timed out: the next one, if any
            failure = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise failure


class _Connection(http.client.HTTPConnection):
    """HTTP to one of ``addresses``, naming ``host`` in the Host header."""

    def __init__(
        self, where: Target, addresses: Sequence[str], timeout: float, open_socket: OpenSocket
    ) -> None:
        super().__init__(where.connect_host, where.port, timeout=timeout)
        self.addresses = tuple(addresses)
        self._open_socket = open_socket

    def connect(self) -> None:
        self.sock = _connect(self._open_socket, self.addresses, self.port, self.timeout)


class _TlsConnection(http.client.HTTPSConnection):
    """HTTPS to one of ``addresses``; the server name sent (SNI) and the name the
    certificate must be for are ``host``, whatever address carries them."""

    def __init__(
        self,
        where: Target,
        addresses: Sequence[str],
        timeout: float,
        open_socket: OpenSocket,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(where.connect_host, where.port, timeout=timeout, context=context)
        self.addresses = tuple(addresses)
        self._open_socket = open_socket
        self._tls = context

    def connect(self) -> None:
        sock = _connect(self._open_socket, self.addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed by the receiver (or
    holds an answer nobody asked for): either way it cannot carry a request."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # any descriptor number, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class KeepAliveConnections:
    """Idle connections by origin, shared by the threads that send (under a lock)."""

    def __init__(
        self,
        timeout: float,
        *,
        resolve: Resolve | None = None,
        open_socket: OpenSocket = open_tcp_socket,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``resolve``: look names up with it and connect only to public addresses; without
        it a connection is made by name, to any address (private networks allowed)."""
        self._timeout = timeout  # each connect, write and read; the sender bounds the whole
        self._resolve = resolve
        self._open_socket = open_socket
        self._idle: dict[tuple[str, str, int], list[tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()
        self._ssl_context = ssl_context
        self._closed = False

    def post(
        self, url: str, body: bytes, headers: dict[str, str], deadline: float, excerpt_bytes: int
    ) -> tuple[int, bytes]:
        """POST ``body``; the status and up to ``excerpt_bytes`` of the answer, read until
        ``deadline`` (``time.perf_counter``) at the latest."""
        where = target(url)
        connection = self._checkout(where)
        try:
            connection.request("POST", where.path, body=body, headers=headers)
            answer = connection.getresponse()
            excerpt = _first_bytes(answer, deadline, excerpt_bytes)
        except BaseException:
            connection.close()
            raise
        if answer.isclosed() and not answer.will_close:
            self._checkin(where, connection)
        else:  # unread bytes, or the receiver closes it: never reused
            connection.close()
        return answer.status, excerpt

    def _checkout(self, where: Target) -> http.client.HTTPConnection:
        now = time.monotonic()
        stale: list[http.client.HTTPConnection] = []
        found: http.client.HTTPConnection | None = None
        with self._lock:
            idle = self._idle.get(where.origin, [])
            while idle and found is None:
                since, connection = idle.pop()
                if now - since > IDLE_SECONDS:
                    stale.append(connection)
                else:
                    found = connection
        for connection in stale:
            connection.close()
        if found is not None and not _closed_by_peer(found):
            return found
        if found is not None:
            found.close()
        return self._open(where)

    def _open(self, where: Target) -> http.client.HTTPConnection:
        try:
            addresses = (
                [where.connect_host]  # the socket looks the name up itself
                if self._resolve is None
                else public_addresses(
                    where.connect_host, where.port, self._resolve, named_as=where.host
                )
            )
        except (OSError, UnicodeError) as error:  # no such name, no answer
            raise ConnectError(str(error)) from error
        connection: http.client.HTTPConnection
        if where.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()  # httpx's trust store
            connection = _TlsConnection(
                where, addresses, self._timeout, self._open_socket, self._ssl_context
            )
        else:
            connection = _Connection(where, addresses, self._timeout, self._open_socket)
        try:
            connection.connect()
        except TimeoutError:
            raise
        except OSError as error:  # refused, unreachable, the certificate...
            raise ConnectError(str(error)) from error
        return connection

    def _checkin(self, where: Target, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(where.origin, [])
            if not self._closed and len(idle) < MAX_IDLE_PER_ORIGIN:
                idle.append((time.monotonic(), connection))
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [connection for pool in self._idle.values() for _, connection in pool]
            self._idle.clear()
        for connection in idle:
            connection.close()


def _first_bytes(answer: http.client.HTTPResponse, deadline: float, limit: int) -> bytes:
    """The start of the answer, for the delivery log. An answer no longer than ``limit``
    is read to its end, so that its connection can carry the next request."""
    collected = b""
    while len(collected) < limit and answer.length != 0 and time.perf_counter() <= deadline:
        chunk = answer.read1(limit - len(collected))
        if not chunk:
            break
        collected += chunk
    if not answer.isclosed() and time.perf_counter() <= deadline:
        answer.read(1)  # at the end this closes the answer; past it, the connection is dropped
    return collected
