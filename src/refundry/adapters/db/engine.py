"""Engines for the embedded SQLite default and for PostgreSQL.

SQLite gets WAL (readers never wait for the writer), a busy timeout (writers queue
instead of failing) and explicit transactions: a write transaction starts with
``BEGIN IMMEDIATE`` so it holds the database's single write lock from its first
statement. That is SQLite's equivalent of locking the order row: two refunds of
one order can never interleave their read and their write.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

WRITE_OPTION = "refundry_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


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


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
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

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def conflict_insert(
    connection: sa.Connection, table: sa.Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ``ON CONFLICT ...``, in this connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
