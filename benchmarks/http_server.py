"""Processes for the HTTP benchmark and the soak: fresh databases, the API server under
uvicorn as a user runs it, the worker, and their memory read from /proc."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psycopg

from benchmarks.databases import libpq

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def code_env() -> dict[str, str]:
    """PYTHONPATH for a process started here, so it runs this checkout's code: the venv's
    ``refundry`` is an editable install of one checkout, which need not be this one."""
    paths = [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(path for path in paths if path)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_name(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(libpq(url)) as connection:
        version = connection.info.server_version
    return f"PostgreSQL {version // 10000}.{version % 10000}"


def refundry(url: str, *arguments: str) -> str:
    """Run the ``refundry`` command on this database; its standard output."""
    done = subprocess.run(
        [str(BIN / "refundry"), *arguments],
        env={**os.environ, **code_env(), "REFUNDRY_DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@dataclass(frozen=True, slots=True)
class Shop:
    merchant_id: str
    api_key: str


def prepare(url: str) -> Shop:
    """Migrate and make a merchant with an API key, as an operator would."""
    refundry(url, "migrate")
    created = json.loads(refundry(url, "merchants", "create", "Bench shop", "--json"))
    return Shop(created["merchant_id"], created["api_key"])


# ---------------------------------------------------------------------- servers
@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _wait_healthy(process: subprocess.Popen[bytes], url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer {url} within {seconds} s")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own group: started with a new session
            process.wait()


# The API with its baseline endpoint.
BENCH_API = "refundry.entrypoints.cli:bench_api"


def uvicorn_command(port: int, workers: int, app: str = BENCH_API) -> list[str]:
    """The production way to serve the API: uvicorn with its fast loop and HTTP parser,
    several worker processes, no per-request access log."""
    return [
        str(BIN / "uvicorn"),
        "--factory", app,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(workers),
        "--loop", "uvloop",
        "--http", "httptools",
        "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip


@contextmanager
def api_server(
    url: str, workers: int, env: Mapping[str, str] | None = None, app: str = BENCH_API
) -> Iterator[Server]:
    """The API on a free loopback port, with the benchmark's baseline endpoint on (or
    another application factory served the same way)."""
    port = free_port()
    process = subprocess.Popen(
        uvicorn_command(port, workers, app),
        env={
            **os.environ,
            **code_env(),
            **(env or {}),
            "REFUNDRY_DATABASE_URL": url,
            # The per-key rate limit (100/s a process by default) would refuse the load
            # itself; set out of reach, so its bookkeeping still runs on every request.
            "REFUNDRY_RATE_LIMIT_PER_SECOND": "1000000000",
            "REFUNDRY_RATE_LIMIT_BURST": "1000000000",
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_healthy(process, f"http://127.0.0.1:{port}/healthz")
        yield Server(process, port)
    finally:
        _stop(process)


@contextmanager
def background(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    health: str | None = None,
    log_to: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A helper process (the worker, the sandbox gateway, a webhook receiver), stopped after;
    once ``health`` answers 200 when given; its standard error kept in ``log_to`` if given."""
    with open(log_to or os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **code_env(), **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            if health is not None:
                _wait_healthy(process, health)
            yield process
        finally:
            _stop(process)


# ----------------------------------------------------------------------- memory
def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def rss_mb(pids: Sequence[int]) -> float:
    """Resident memory of these processes together, in MB (0 for one that is gone)."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


# ---------------------------------------------------------------------- machine
def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line(databases: Sequence[str]) -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "uvloop", "httptools", "fastapi", "pydantic", "sqlalchemy")
    )
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {', '.join(databases)}, psycopg "
        f"{metadata.version('psycopg')}, {versions}; load average before the run {load}"
    )
