"""Engines for the embedded SQLite default and for PostgreSQL.

SQLite gets WAL (readers never wait for the writer), a busy timeout (writers queue
instead of failing) and explicit transactions: a write transaction starts with
``BEGIN IMMEDIATE`` so it holds the database's single write lock from its first
statement. That is SQLite's equivalent of locking the order row: two refunds of
one order can never interleave their read and their write.

Write transactions of one process also queue for that lock in the process (a lock taken
before ``BEGIN IMMEDIATE``, let go once the commit or rollback is done): SQLite's own
wait is a sleep-and-retry whose sleeps grow to 100 ms, so threads of one server that
waited on each other there starved (a refund waited up to 30 s and failed "database is
locked" under 32 concurrent requests), where a queue in the process hands the lock on
at once. Processes sharing one file still meet in SQLite's wait.

A PostgreSQL engine does not ping a connection before each transaction (a round trip
each time): a connection the server closed is found without one and replaced when it
is checked out of the pool (``_replace_if_closed``).

Behind a pooler in transaction mode (PgBouncer's ``pool_mode = transaction``) each
transaction may run on a different server connection, so nothing may outlive a transaction
on one. psycopg's server-side prepared statements do (it prepares a statement it has run
five times on a connection, then sends only its name): with ``transaction_pooler`` it
prepares none. Nothing else here is session state: settings are ``SET LOCAL`` or
``set_config(..., true)``, READ ONLY and the isolation level go in each BEGIN, locks are
row locks (``FOR UPDATE``, ``SKIP LOCKED``) and transaction advisory locks, the pool is
checked by its socket (no LISTEN), and server-side cursors live in their transaction.
"""

from __future__ import annotations

import functools
import select
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from refundry.adapters.db import error_text, outages, pending_writes
from refundry.domain.errors import DatabaseUnavailable

WRITE_OPTION = "refundry_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


# Connections a PostgreSQL engine keeps open, and how many more it may open at a peak.
# The default (5 kept) was below a server's usual concurrency (up to 40 request threads a
# process), so connections were opened and closed around the peaks: a new backend process
# each time. Twenty a process at most keeps a few server processes and a worker within
# PostgreSQL's default 100 connections.
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10
# A connection this old is closed at checkout and a new one opened: a bound on how long
# one lives, for networks that drop an idle connection without telling either end.
POSTGRES_POOL_RECYCLE_SECONDS = 1800


def create_engine(url: str, *, transaction_pooler: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``transaction_pooler`` when ``url`` is a pooler in transaction
    mode (PgBouncer before 1.21 keeps no prepared statement across server connections).

    A failed statement's error names its statement but not its parameters
    (``hide_parameters``): they hold customers' e-mails, gift-card tokens and API key
    hashes, and the error reaches logs and traces. Nor the values PostgreSQL quotes in
    its own message (``error_text``)."""
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, **kwargs)
    else:
        options: dict[str, Any] = {
            "hide_parameters": True,
            "pool_size": POSTGRES_POOL_SIZE,
            "max_overflow": POSTGRES_MAX_OVERFLOW,
            "pool_recycle": POSTGRES_POOL_RECYCLE_SECONDS,
        }
        if transaction_pooler:
            options["connect_args"] = {"prepare_threshold": None}
        engine = sa.create_engine(url, **{**options, **kwargs})
        event.listen(engine, "checkout", _replace_if_closed)
    error_text.install(engine)
    outages.install(engine)
    pending_writes.install(engine)
    return engine


def _replace_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has closed, so the pool opens another.

    A server ending a session (a restart, ``pg_terminate_backend``, an idle timeout) sends
    a last error and closes the socket. A connection resting in the pool has nothing to
    read (nothing here LISTENs), so a readable socket means it is gone: the pool discards
    it on ``DisconnectionError`` and tries another, up to three times. A poll of the
    socket where ``pool_pre_ping`` cost a round trip before every transaction. A
    connection lost without a word (a network that dropped it) is found by neither
    before use: its first statement fails, as the pre-ping would have hung, and
    SQLAlchemy then replaces every connection the pool holds.
    """
    if dbapi_connection.closed:
        raise sa.exc.DisconnectionError("the connection was closed")
    socket = select.poll()
    socket.register(dbapi_connection.fileno(), select.POLLIN)
    if socket.poll(0):
        raise sa.exc.DisconnectionError("the server closed the connection")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def begin(engine: Engine, *, write: bool) -> tuple[sa.Connection, sa.RootTransaction]:
    """A connection in a transaction of its own; a ``write`` one on SQLite holds the write
    lock from its BEGIN (BEGIN IMMEDIATE, through this process's queue for it). One that
    is not a write is READ ONLY on PostgreSQL (psycopg says so in its BEGIN): see
    ``end_read``."""
    try:
        connection = engine.connect()
    except sa.exc.TimeoutError as error:  # every pooled connection busy past the pool's wait
        raise DatabaseUnavailable(outages.DETAIL) from error
    if write and is_sqlite(engine):
        connection = connection.execution_options(**{WRITE_OPTION: True})
    elif not write and not is_sqlite(engine):
        connection = connection.execution_options(postgresql_readonly=True)
    try:
        return connection, connection.begin()
    except BaseException:
        # A write lock not had in time (SQLite's busy wait, or this process's queue for
        # it): the pool gets its connection back now, not when it is collected.
        connection.close()
        raise


def end_read(transaction: sa.RootTransaction, *, failed: bool) -> None:
    """End a read transaction (``begin(write=False)``).

    On PostgreSQL a read that did not fail commits: psycopg forgets every statement it
    has prepared on the connection when a transaction rolls back, and tells the server
    to forget them too (DEALLOCATE ALL, one more round trip), so reading an API key
    cost every later request of that connection its prepared statements. The
    transaction began READ ONLY, so its commit cannot write anything. SQLite rolls
    back: its statement cache outlives a rollback, and a read there is not read-only.
    """
    if failed or transaction.connection.dialect.name == "sqlite":
        transaction.rollback()
    else:
        transaction.commit()


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_bucket(stored: str | None, timezone: str, unit: str) -> str | None:
    """The local day, ISO week (Monday) or month a stored UTC time falls in, as YYYY-MM-DD.

    SQLite's half of report bucketing; PostgreSQL uses date_trunc in the time zone.
    """
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(_zone(timezone))
    day = moment.date()
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    return day.isoformat()


class _WriteQueue:
    """One SQLite database's write lock, as this process queues for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection holding it

    def enter(self, dbapi_connection: object) -> None:
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            # What SQLite itself would say after its busy timeout.
            raise sa.exc.OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        self._holder = id(dbapi_connection)

    def leave(self, dbapi_connection: object) -> None:
        if self._holder == id(dbapi_connection):
            self._holder = None
            self._lock.release()


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    queue = _WriteQueue()

    class QueuedConnection(sqlite3.Connection):
        """Lets the next writer of this process in once its transaction has ended."""

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                queue.leave(self)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                queue.leave(self)

        def close(self) -> None:
            try:
                super().close()
            finally:
                queue.leave(self)

    engine = sa.create_engine(
        url,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": 30, "factory": QueuedConnection},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's begin event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        dbapi_connection.create_function("refundry_bucket", 3, local_bucket, deterministic=True)
        # A new row's id in SQL (a webhook delivery per subscribed endpoint), stored as
        # SQLAlchemy stores a Uuid here: 32 hex digits. PostgreSQL has gen_random_uuid().
        dbapi_connection.create_function("refundry_uuid4", 0, _new_uuid_hex)

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            dbapi_connection = connection.connection.dbapi_connection
            queue.enter(dbapi_connection)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                queue.leave(dbapi_connection)
                raise
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def _new_uuid_hex() -> str:
    return uuid.uuid4().hex


def conflict_insert(
    connection: sa.Connection, table: sa.Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ``ON CONFLICT ...``, in this connection's dialect."""
    return dialect_insert(connection.dialect.name, table)


def dialect_insert(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """``conflict_insert`` by the dialect's name, for statements built once per dialect."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
