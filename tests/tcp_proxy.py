"""A TCP proxy that a test can switch off and on: the network between a server and its
database, failing as networks and database restarts do."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class SwitchableProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; one thread moves every byte.

    ``cut_on_next_use()``: connections already open stay open until their client sends
    something, then close without forwarding it (the connection is lost under a
    statement, after the pool's check at checkout passed); new ones are refused.
    ``refuse()``: new connections are refused and open ones are closed.
    ``restore()``: forwards again, on the same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._cut_on_use = False
        self._wanted: str | None = None  # a switch the loop has not made yet
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    def cut_on_next_use(self) -> None:
        self._switch("cut-on-use")

    def refuse(self) -> None:
        self._switch("refuse")

    def restore(self) -> None:
        self._switch("forward")

    def close(self) -> None:
        self._stopping = True
        self._thread.join(timeout=5)

    def _switch(self, mode: str) -> None:
        """Made by the proxy's own thread, which owns every socket; returns once made."""
        with self._lock:
            self._done.clear()
            self._wanted = mode
        if not self._done.wait(timeout=10):
            raise RuntimeError(f"the proxy did not switch to {mode}")

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return listener

    def _run(self) -> None:
        while not self._stopping:
            self._apply_switch()
            watched = list(self._pairs) + ([self._listener] if self._listener else [])
            readable, _, _ = select.select(watched, [], [], 0.02)
            for sock in readable:
                if sock is self._listener:
                    self._accept()
                elif sock in self._pairs:
                    self._forward(sock)
        for sock in list(self._pairs):
            self._drop(sock)
        if self._listener:
            self._listener.close()

    def _apply_switch(self) -> None:
        with self._lock:
            mode, self._wanted = self._wanted, None
        if mode is None:
            return
        self._cut_on_use = mode == "cut-on-use"
        if mode in ("refuse", "cut-on-use") and self._listener:
            self._listener.close()
            self._listener = None
        if mode == "refuse":
            for sock in list(self._pairs):
                self._drop(sock)
        if mode == "forward" and not self._listener:
            self._listener = self._listen(self.port)
        self._done.set()

    def _accept(self) -> None:
        assert self._listener is not None
        client, _ = self._listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self._pairs[client] = upstream
        self._pairs[upstream] = client

    def _forward(self, sock: socket.socket) -> None:
        peer = self._pairs[sock]
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data or self._cut_on_use:
            self._drop(sock)
            return
        try:
            peer.sendall(data)
        except OSError:
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for each in (sock, peer):
            if each is None:
                continue
            self._pairs.pop(each, None)
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()


@contextmanager
def switchable_proxy(target: tuple[str, int]) -> Iterator[SwitchableProxy]:
    proxy = SwitchableProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
