"""What a database did, from its own counters, and the refunds' progress as stored.

PostgreSQL keeps per-database counters (``pg_stat_database``): transactions committed
and rolled back, rows inserted, updated, deleted, fetched, and sessions opened. The
benchmark's databases are fresh and used by it alone, so their deltas are the work of
the processes under test. Statements are counted only when the server loads
``pg_stat_statements`` (``shared_preload_libraries``); without it the transactions
and rows are what there is. The counters are read over a connection to another
database of the server, so reading them adds nothing to them.

A backend hands its counts over when it goes idle, but at most once a second: counts
made less than a second after its last hand-over wait for its idle timer, 10 s
(PostgreSQL 15's PGSTAT_IDLE_INTERVAL), or for it to exit. So ``settled`` waits that
long after the work, and each snapshot is the start of the next measurement.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from benchmarks.databases import libpq

STATS_FLUSH_SECONDS = 11.0  # longer than PGSTAT_IDLE_INTERVAL (see above)


COUNTS = ("commits", "rollbacks", "inserted", "updated", "deleted", "fetched", "sessions")


@dataclass(frozen=True, slots=True)
class DbCounters:
    commits: int = 0
    rollbacks: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    fetched: int = 0
    sessions: int = 0
    statements: int | None = None  # pg_stat_statements' calls, when it is loaded

    def __sub__(self, other: DbCounters) -> DbCounters:
        statements = None
        if self.statements is not None and other.statements is not None:
            statements = self.statements - other.statements
        return DbCounters(
            **{name: getattr(self, name) - getattr(other, name) for name in COUNTS},
            statements=statements,
        )

    @property
    def transactions(self) -> int:
        return self.commits + self.rollbacks


class ServerCounters:
    """The counters of one benchmark database, read from the server's ``postgres`` one."""

    def __init__(self, url: str, wait: float = STATS_FLUSH_SECONDS) -> None:
        self.name = make_url(url).database
        self.wait = wait
        admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        self._admin = psycopg.connect(libpq(admin), autocommit=True)
        self.statements_counted = _load_statement_counts(url)
        self.last: DbCounters | None = None  # the last settled snapshot

    def close(self) -> None:
        self._admin.close()

    def read(self) -> DbCounters:
        row = self._admin.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,"
            " tup_fetched, sessions FROM pg_stat_database WHERE datname = %s",
            (self.name,),
        ).fetchone()
        assert row is not None
        statements = None
        if self.statements_counted:
            calls = self._admin.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s"
                " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
                (self.name,),
            ).fetchone()
            statements = int(calls[0]) if calls else None
        return DbCounters(
            **{name: int(value) for name, value in zip(COUNTS, row, strict=True)},
            statements=statements,
        )

    def settled(self) -> DbCounters:
        """The counters once every idle backend has reported its last transactions."""
        time.sleep(self.wait)
        self.last = self.read()
        return self.last

    def backend_pids(self, exclude: int | None = None) -> list[int]:
        """Server processes on the benchmark database now (clients' and autovacuum's)."""
        rows = self._admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
        ).fetchall()
        return [pid for (pid,) in rows if pid != exclude]


def _load_statement_counts(url: str) -> bool:
    """Whether pg_stat_statements counts here: it must be preloaded by the server, and
    its view is made in the (throw-away) benchmark database."""
    try:
        with psycopg.connect(libpq(url), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except psycopg.Error:
        return False
    return True


class RefundProgress:
    """The refunds by status, as stored; on PostgreSQL each read is one transaction of
    its own on the benchmark database, counted in ``reads`` so it can be taken out."""

    QUERY = "SELECT status, count(*) FROM refunds WHERE kind = 'refund' GROUP BY status"

    def __init__(self, url: str) -> None:
        self.reads = 0
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: psycopg.Connection | None = None
        if url.startswith("sqlite"):
            path = make_url(url).database
            self._sqlite = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False
            )
            self.backend_pid: int | None = None
        else:
            self._postgres = psycopg.connect(libpq(url), autocommit=True)
            self.backend_pid = self._postgres.info.backend_pid

    def read(self) -> Counter[str]:
        self.reads += 1
        if self._sqlite is not None:
            rows = self._sqlite.execute(self.QUERY).fetchall()
        else:
            assert self._postgres is not None
            rows = self._postgres.execute(self.QUERY).fetchall()
        return Counter({str(status): int(count) for status, count in rows})

    def analyze(self) -> None:
        """Planner statistics, as ``databases.analyze`` says why; over this connection, so
        it is one more of its transactions (no new session) and is taken out with them."""
        if self._postgres is not None:
            self.reads += 1
            self._postgres.execute("ANALYZE")

    def close(self) -> None:
        for connection in (self._sqlite, self._postgres):
            if connection is not None:
                connection.close()
