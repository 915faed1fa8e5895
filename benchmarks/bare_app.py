"""The framework ceiling: the least a FastAPI endpoint that writes can cost here.

``uvicorn --factory benchmarks.bare_app:create_app``, served like the API (same uvicorn
flags and processes). One endpoint, ``POST /rows``: a validated JSON body, one INSERT in
one transaction, a JSON answer; a synchronous endpoint in FastAPI's thread pool, as the
API's are. Nothing of Refundry (no SQLAlchemy, no API key, no idempotency), only
FastAPI, uvicorn and psycopg; psycopg_pool is not installed and not worth a dependency,
so the pool is a fixed set of connections handed out through a queue. The benchmark
makes the table and names the database in ``BENCH_BARE_CONNINFO`` (libpq's form).
"""

from __future__ import annotations

import os
import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import FastAPI
from pydantic import BaseModel, Field

CONNINFO_ENV = "BENCH_BARE_CONNINFO"
POOL_SIZE = 10  # as many as the API keeps open a process (POSTGRES_POOL_SIZE)
TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_bare_rows"
    " (id uuid PRIMARY KEY, note varchar(200), created_at timestamptz NOT NULL)"
)


class RowIn(BaseModel):
    note: str | None = Field(None, max_length=200)


class Pool:
    """``size`` connections opened at start; a request waits for a free one."""

    def __init__(self, conninfo: str, size: int) -> None:
        self._conninfo = conninfo
        self._free: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
        for _ in range(size):
            self._free.put(psycopg.connect(conninfo))

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        connection = self._free.get()
        try:
            yield connection
        finally:
            # A connection the server dropped is replaced, so the pool keeps its size.
            self._free.put(psycopg.connect(self._conninfo) if connection.broken else connection)


def create_app() -> FastAPI:
    pool = Pool(os.environ[CONNINFO_ENV], POOL_SIZE)
    app = FastAPI(openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows", status_code=201)
    def insert_row(body: RowIn | None = None) -> dict[str, str]:
        row_id, now = uuid.uuid4(), datetime.now(UTC)
        with pool.connection() as connection, connection.transaction():
            connection.execute(
                "INSERT INTO bench_bare_rows (id, note, created_at) VALUES (%s, %s, %s)",
                (row_id, body.note if body else None, now),
            )
        return {"id": str(row_id), "created_at": now.isoformat()}

    return app
