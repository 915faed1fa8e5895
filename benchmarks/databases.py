"""The benchmarks' databases: a fresh one each run, never the one a URL names."""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg's connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres(server: str, *, keep: bool = False) -> Iterator[str]:
    """A database with a random name on ``server``, dropped at the end whatever happened
    (unless ``keep``, to look at it afterwards)."""
    name = f"refundry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name, drivername="postgresql+psycopg")
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept the database {name}", file=sys.stderr, flush=True)
        else:
            with psycopg.connect(libpq(server), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite(filename: str = "bench.db") -> Iterator[str]:
    """A SQLite file in a temporary directory, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="refundry-bench-") as directory:
        yield f"sqlite:///{Path(directory) / filename}"


def analyze(url: str) -> None:
    """Planner statistics on a PostgreSQL database, as autovacuum keeps them in service
    (this project's test server runs with it off). Without them a fresh table's planner
    can read ``WHERE id = ? AND merchant_id = ?`` through a (merchant_id, ...) index:
    every order of the merchant for each order it loads. Nothing to do on SQLite."""
    if url.startswith("sqlite"):
        return
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("ANALYZE")
