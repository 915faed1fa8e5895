"""Receivers for the webhook benchmark: ``refundry webhooks listen``'s handler, which
verifies every delivery with the ``standardwebhooks`` package, on a free loopback port."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

from refundry.entrypoints.webhook_listener import ListenerState, _handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many workers' connections at once, none refused


@contextmanager
def serving(state: ListenerState, *, keep_alive: bool) -> Iterator[str]:
    """``refundry webhooks listen``'s handler (every delivery verified with the
    ``standardwebhooks`` package), served on a free loopback port in threads. That
    handler speaks HTTP/1.0 and closes each connection; ``keep_alive`` serves it as
    HTTP/1.1 instead, keeping connections open as most receivers in production do (its
    answers carry a content-length), with Nagle's algorithm off so that an answer's
    headers and body do not wait for each other."""
    handler = _handler(state)
    if keep_alive:
        handler = type(
            "KeepAliveHandler",
            (handler,),
            {"protocol_version": "HTTP/1.1", "disable_nagle_algorithm": True},
        )
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Receiver:
    """A receiver in this process's threads, or (``own_process``) in a process of its own,
    as a merchant's server would be: then it does not share this process's GIL."""

    def __init__(self, url: str, state: ListenerState | None, pipe: Connection | None) -> None:
        self.url, self._state, self._pipe = url, state, pipe

    def _ask(self, command: str, argument: str | None = None) -> Any:
        assert self._pipe is not None
        self._pipe.send((command, argument))
        return self._pipe.recv()

    def add_secret(self, secret: str) -> None:
        if self._state is None:
            self._ask("secret", secret)
        else:
            self._state.signing_secrets.append(secret)

    def received(self) -> list[tuple[str, bool]]:
        """(webhook-id, verified) of every request since the last reset."""
        if self._state is None:
            got: list[tuple[str, bool]] = self._ask("received")
            return got
        return _summary(self._state)

    def reset(self) -> None:
        if self._state is None:
            self._ask("reset")
        else:
            _reset(self._state)


def _summary(state: ListenerState) -> list[tuple[str, bool]]:
    return [(received.webhook_id, received.verified) for received in state.delivered()]


def _reset(state: ListenerState) -> None:
    with state.lock:
        state.received.clear()


def _serve_in_own_process(pipe: Connection, keep_alive: bool) -> None:
    state = ListenerState()
    with serving(state, keep_alive=keep_alive) as url:
        pipe.send(url)
        while True:
            command, argument = pipe.recv()
            if command == "stop":
                pipe.send(None)
                return
            if command == "secret":
                state.signing_secrets.append(argument)
            elif command == "reset":
                _reset(state)
            pipe.send(_summary(state) if command == "received" else None)


@contextmanager
def running_receiver(*, keep_alive: bool, own_process: bool) -> Iterator[Receiver]:
    if not own_process:
        state = ListenerState()
        with serving(state, keep_alive=keep_alive) as url:
            yield Receiver(url, state, None)
        return
    ours, theirs = multiprocessing.Pipe()
    context = multiprocessing.get_context("spawn")  # no copy of this process's threads
    process = context.Process(target=_serve_in_own_process, args=(theirs, keep_alive))
    process.start()
    try:
        receiver = Receiver(ours.recv(), None, ours)
        yield receiver
        receiver._ask("stop")
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()
