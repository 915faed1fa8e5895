"""Real servers for tests: started on a free loopback port, stopped by their pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from refundry.entrypoints.api.header_deadline import PROTOCOL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def venv_script(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@contextmanager
def running_server(
    command: Sequence[str],
    *,
    port: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    health_path: str = "/healthz",
    startup_seconds: float = 60,
    log: Path | None = None,
) -> Iterator[str]:
    """Run ``command`` until it answers on ``port``; yield its base URL; stop it after.
    With ``log``, all it writes (standard output and error) goes to that file, complete
    once the block ends."""
    sink = log.open("wb") if log is not None else None
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=sink or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if sink else subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                if log is not None:
                    stderr = log.read_text()
                raise RuntimeError(f"{command[0]} exited early:\n{stderr[-3000:]}")
            try:
                if httpx.get(base + health_path, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer within {startup_seconds} s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        if sink is not None:
            sink.close()


@contextmanager
def api_server(database_url: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The API under uvicorn on this database, as a user would run it (several
    workers on PostgreSQL, one on SQLite; the HTTP protocol ``refundry serve`` uses); ``env``
    adds settings."""
    workers = "1" if database_url.startswith("sqlite") else "3"
    port = free_port()
    command = [venv_script("uvicorn"), "refundry.entrypoints.api.asgi:app", "--http", PROTOCOL]
    command += ["--port", str(port), "--workers", workers, "--log-level", "warning"]
    settings = {**(env or {}), "REFUNDRY_DATABASE_URL": database_url}
    with running_server(command, port=port, env=settings) as base:
        yield base


@contextmanager
def worker_process(
    database_url: str, psp_url: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``refundry worker`` on this database, in its own process group (so a test
    can kill it mid-call); stopped with SIGTERM after."""
    process = subprocess.Popen(
        [venv_script("refundry"), "worker", "--interval", "0.1"],
        env={
            **os.environ,
            **(env or {}),
            "REFUNDRY_DATABASE_URL": database_url,
            "REFUNDRY_SANDBOX_PSP_URL": psp_url,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.05)
