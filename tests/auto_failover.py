"""A pg_auto_failover formation on loopback: a monitor and two data nodes (Debian's
``postgresql-15-auto-failover``, whose ``pg_autoctl`` runs each).

The nodes replicate synchronously (pg_auto_failover names the standby in
``synchronous_standby_names``): a commit the primary acknowledged is on the standby too,
so a failover loses none. The monitor's health checks are made faster than their defaults
(a check a second, a node unhealthy after 3 s instead of 20 s), so a stopped primary is
replaced within seconds rather than half a minute; the steps are pg_auto_failover's own.

Applications reach the formation by one multi-host URL with
``target_session_attrs=read-write``: psycopg (libpq's rules) tries each host and keeps the
one that takes writes. SQLAlchemy reads several hosts as repeated ``host`` query
parameters (its URL parser refuses ``@h1:p1,h2:p2``).

Everything runs as ``postgres`` (``pg_autoctl`` refuses root) from a directory it owns,
which also holds pg_autoctl's configuration and state (``XDG_CONFIG_HOME``,
``XDG_DATA_HOME``), and is stopped at the end by ``pg_autoctl stop`` and then by the
processes' ids.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.postgres_servers import (
    SERVER_USER,
    as_server_user,
    postgres_tool,
    run_as_server_user,
    server_owned_directory,
)
from tests.servers import free_port

PACKAGE = "postgresql-15-auto-failover"
# The monitor's health checks, faster than their defaults (5 s a check, 20 s unhealthy).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
    "pgautofailover.primary_demote_timeout": "5000",
}
# pg_autoctl's initdb takes the C locale, so its databases are SQL_ASCII, which psycopg
# answers in bytes: the application's database is made UTF8.
DATABASE = "refundry"
READY_SECONDS = 120.0  # a node's creation copies the primary (pg_basebackup)
PRIMARY_STATES = frozenset({"primary", "wait_primary"})


@dataclass
class Formation:
    """A running formation: its monitor and nodes, and how to reach and stop them."""

    directory: Path
    monitor_port: int
    node_ports: dict[str, int]  # node name -> port
    env: dict[str, str]
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, database: str = DATABASE) -> str:
        """The multi-host URL an application is given (SQLAlchemy, psycopg 3)."""
        hosts = "&".join(f"host=127.0.0.1:{port}" for port in self.node_ports.values())
        return (
            f"postgresql+psycopg://{SERVER_USER}@/{database}?{hosts}"
            "&target_session_attrs=read-write"
        )

    def monitor_dsn(self) -> str:
        # the monitor's database is SQL_ASCII: without client_encoding, text comes as bytes
        return (
            f"host=127.0.0.1 port={self.monitor_port} user={SERVER_USER}"
            " dbname=pg_auto_failover client_encoding=utf8"
        )

    def states(self) -> dict[str, tuple[str, str]]:
        """Each node's reported and assigned state, as the monitor knows them."""
        with psycopg.connect(self.monitor_dsn(), connect_timeout=5) as monitor:
            rows = monitor.execute(
                "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
            ).fetchall()
        return {name: (reported, goal) for name, reported, goal in rows}

    def primary(self) -> str | None:
        """The node that takes writes now, if one does."""
        for name, (reported, goal) in self.states().items():
            if reported in PRIMARY_STATES and goal in PRIMARY_STATES:
                return name
        return None

    def settled_primary(self, seconds: float = READY_SECONDS) -> str:
        """The primary, once the formation has settled: one node primary, the other its
        synchronous standby. Only then may the primary stop with nothing lost: a primary
        still in wait_primary commits without waiting for the standby, and the monitor
        rightly promotes no standby that may lack those commits."""
        deadline = time.monotonic() + seconds
        while True:
            states = self.states()
            reported = sorted(reported for reported, goal in states.values() if reported == goal)
            if reported == ["primary", "secondary"]:
                return next(name for name, (state, _) in states.items() if state == "primary")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the formation did not settle within {seconds} s: {states}")
            time.sleep(0.2)

    def wait_for(self, ready: dict[str, str], seconds: float = READY_SECONDS) -> None:
        """Until each named node reports its state (primary, secondary...)."""
        deadline = time.monotonic() + seconds
        while True:
            with suppress(psycopg.OperationalError):
                states = self.states()
                if all(states.get(name, ("", ""))[0] == state for name, state in ready.items()):
                    return
            for name, process in self.services.items():
                if process.poll() is not None:
                    raise RuntimeError(f"pg_autoctl of {name} exited:\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the formation is not {ready} within {seconds} s: {states}")
            time.sleep(0.2)

    def stop_node(self, name: str) -> None:
        """Stop a node as a machine would stop: pg_autoctl and PostgreSQL at once
        (``--immediate``: no checkpoint, clients cut off)."""
        pg_autoctl = postgres_tool("pg_autoctl", PACKAGE)
        pgdata = str(self.directory / name)
        run_as_server_user([pg_autoctl, "stop", "--pgdata", pgdata, "--immediate"], env=self.env)
        process = self.services.pop(name)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start_node(self, name: str) -> None:
        """Start a stopped node again: it rejoins as a standby of the new primary
        (pg_autoctl rewinds it with pg_rewind where it had gone ahead)."""
        pg_autoctl = postgres_tool("pg_autoctl", PACKAGE)
        _start(self, name, [pg_autoctl, "run", "--pgdata", str(self.directory / name)])

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            return (self.directory / f"{name}.log").read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


def _start(formation: Formation, name: str, command: list[str]) -> None:
    with (formation.directory / f"{name}.log").open("ab") as log:
        formation.services[name] = subprocess.Popen(
            command,
            env=formation.env,
            cwd=formation.directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **as_server_user(),
        )


def _stop_all(formation: Formation, pg_autoctl: str) -> None:
    for name in list(formation.services):
        with suppress(RuntimeError, subprocess.TimeoutExpired):
            pgdata = str(formation.directory / name)
            command = [pg_autoctl, "stop", "--pgdata", pgdata, "--immediate"]
            run_as_server_user(command, env=formation.env, timeout=30)
    for process in formation.services.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # A PostgreSQL its pg_autoctl did not stop (killed above) is stopped by its own pid.
    pg_ctl = postgres_tool("pg_ctl")
    for name in ("monitor", *formation.node_ports):
        data = formation.directory / name
        if (data / "postmaster.pid").exists():
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                stop = [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]
                run_as_server_user(stop, timeout=30)


@contextmanager
def auto_failover_formation() -> Iterator[Formation]:
    """A monitor, then node1 (the first primary), then node2 (its synchronous standby)."""
    pg_autoctl = postgres_tool("pg_autoctl", PACKAGE)
    # pg_autoctl finds the other programs beside pg_ctl: the real one, not a link to it
    pg_ctl = str(Path(postgres_tool("pg_ctl")).resolve())
    with server_owned_directory("refundry-afo-") as directory, ExitStack() as stack:
        env = {
            "HOME": str(directory),
            "XDG_CONFIG_HOME": str(directory / "config"),
            "XDG_DATA_HOME": str(directory / "data"),
            "PGUSER": SERVER_USER,
        }
        formation = Formation(
            directory, free_port(), {"node1": free_port(), "node2": free_port()}, env
        )
        stack.callback(_stop_all, formation, pg_autoctl)
        common = ["--pgctl", pg_ctl, "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"]
        monitor_port = str(formation.monitor_port)
        _start(
            formation,
            "monitor",
            [pg_autoctl, "create", "monitor", "--pgdata", str(directory / "monitor"),
             "--pgport", monitor_port, *common, "--run"],
        )  # fmt: skip
        _tune_monitor(formation)
        monitor_url = (
            f"postgres://autoctl_node@127.0.0.1:{monitor_port}/pg_auto_failover?sslmode=disable"
        )
        for name, port in formation.node_ports.items():
            _start(
                formation,
                name,
                [pg_autoctl, "create", "postgres", "--pgdata", str(directory / name),
                 "--pgport", str(port), "--name", name, "--monitor", monitor_url,
                 *common, "--run"],
            )  # fmt: skip
            # one at a time: the second copies the first once it runs (alone: "single")
            formation.wait_for({"node1": "single"} if name == "node1" else {})
        formation.wait_for({"node1": "primary", "node2": "secondary"})
        node1 = f"host=127.0.0.1 port={formation.node_ports['node1']} user={SERVER_USER}"
        with psycopg.connect(f"{node1} dbname=postgres", autocommit=True) as primary:
            primary.execute(f"CREATE DATABASE {DATABASE} ENCODING 'UTF8' TEMPLATE template0")
        yield formation


def _tune_monitor(formation: Formation) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with psycopg.connect(formation.monitor_dsn(), autocommit=True) as monitor:
                monitor.execute("SELECT 1 FROM pgautofailover.node LIMIT 1")
                for name, value in MONITOR_SETTINGS.items():
                    monitor.execute(f"ALTER SYSTEM SET {name} = {value}")
                monitor.execute("SELECT pg_reload_conf()")
                return
        except psycopg.Error:
            if formation.services["monitor"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the monitor did not start:\n{formation.log_tail('monitor')}"
                ) from None
            time.sleep(0.2)
