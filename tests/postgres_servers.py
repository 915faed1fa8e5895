"""PostgreSQL's own tools as test servers on loopback: PgBouncer in transaction mode in
front of the test server, and a small primary with a streaming replica (``pg_basebackup``).

Each runs from a temporary directory owned by ``postgres`` (``initdb``, ``pg_ctl`` and
PgBouncer refuse to run as root, and CI runs as root), on free ports chosen at run time,
and is stopped by its process id (``pg_ctl stop`` for the clusters) at the end. Without the
Debian packages (``pgbouncer``, ``postgresql-15``) the tests that need them skip with the
reason, except under ``CI=true``, where ``.ci/run`` installs them and a skip is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.servers import free_port

SERVER_USER = "postgres"
# Fewer server connections than the API and worker keep (20 a process): every transaction
# then takes whichever server connection is free, as it does in production behind PgBouncer.
PGBOUNCER_POOL_SIZE = 4


def postgres_tool(name: str, package: str = "pgbouncer postgresql-15") -> str:
    """The path of a PostgreSQL program (PgBouncer is in /usr/sbin, the server's own in
    /usr/lib/postgresql/<version>/bin on Debian); skips the test where it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if found is None:
        versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = versions[-1] if versions else None
    if found is None:
        reason = f"{name} is not installed (Debian: apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs it, so in CI this test may not skip")
        pytest.skip(reason)
    return found


def as_server_user() -> dict[str, Any]:
    """``Popen`` options that drop root to ``postgres`` (as ``su postgres -c`` would)."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(SERVER_USER)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def run_as_server_user(
    command: Sequence[str], *, timeout: float = 120, env: Mapping[str, str] | None = None
) -> str:
    """Run ``command`` as the server user; returns its standard output."""
    done = subprocess.run(
        list(command),
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **as_server_user(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    output: str = done.stdout
    return output


@contextmanager
def server_owned_directory(prefix: str) -> Iterator[Path]:
    """A fresh directory under /tmp (short: a socket path must fit in 107 bytes) that the
    server user owns; removed at the end."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(path, account.pw_uid, account.pw_gid)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early ({process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not listen within 30 s") from None
            time.sleep(0.05)


@contextmanager
def pgbouncer(server_url: str) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``server_url``'s server, any database on
    it by name; yields ``server_url`` pointed at PgBouncer instead."""
    program = postgres_tool("pgbouncer")
    server = make_url(server_url)
    port = free_port()
    with server_owned_directory("refundry-pgbouncer-") as directory:
        (directory / "users.txt").write_text(f'"{server.username or SERVER_USER}" ""\n')
        (directory / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {PGBOUNCER_POOL_SIZE}\n"
            "max_client_conn = 500\n"
            # A transaction waiting this long for a server connection fails instead of
            # hanging the test (one that needed two connections at once would).
            "query_wait_timeout = 30\n"
            f"logfile = {directory / 'pgbouncer.log'}\n"
        )
        process = subprocess.Popen(
            [program, str(directory / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            **as_server_user(),
        )
        try:
            _wait_for_port(port, process, "pgbouncer")
            yield server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def _cluster(pg_ctl: str, data: Path, port: int) -> Iterator[None]:
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c shared_buffers=16MB -c max_connections=60"
    )
    run_as_server_user(
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "server.log"), "-w", "start"]
    )
    try:
        yield
    finally:
        run_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])


@contextmanager
def primary_with_replica() -> Iterator[tuple[str, str]]:
    """A small primary of its own (``initdb``: copying the shared test server would take as
    long as it is large, and its pg_hba.conf allows no replication) and a streaming replica
    of it (``pg_basebackup -R``); yields their URLs (database ``postgres``)."""
    initdb, pg_ctl = postgres_tool("initdb"), postgres_tool("pg_ctl")
    pg_basebackup = postgres_tool("pg_basebackup")
    with server_owned_directory("refundry-replication-") as directory:
        primary, replica = directory / "primary", directory / "replica"
        primary_port, replica_port = free_port(), free_port()
        # trust on loopback, replication included: a throwaway cluster for one test module
        initdb_options = "-A trust -E UTF8 --locale=C --no-sync --no-instructions"
        run_as_server_user([initdb, "-D", str(primary), "-U", SERVER_USER, *initdb_options.split()])
        with _cluster(pg_ctl, primary, primary_port):
            # -R: the copy starts as a standby streaming from the primary; -c fast: a
            # checkpoint now rather than at the next scheduled one
            copy_options = f"-R -X stream -c fast -h 127.0.0.1 -p {primary_port} --no-sync"
            run_as_server_user(
                [pg_basebackup, "-D", str(replica), "-U", SERVER_USER, *copy_options.split()]
            )
            with _cluster(pg_ctl, replica, replica_port):
                yield (
                    f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{primary_port}/postgres",
                    f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{replica_port}/postgres",
                )
