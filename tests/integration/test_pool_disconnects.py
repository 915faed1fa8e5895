"""A PostgreSQL engine replaces the connections the server closed, without pinging each
one before use (``adapters/db/engine.py``: ``_replace_if_closed``)."""

from __future__ import annotations

import select

import psycopg
import pytest
from sqlalchemy.engine import make_url

from refundry.adapters.db.engine import create_engine
from tests.wire_trace import WireTrace

pytestmark = pytest.mark.postgres


def test_connections_the_server_closed_are_replaced_at_checkout_without_a_ping(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    trace = WireTrace()
    trace.attach(engine)
    try:
        # given three connections resting in the pool
        held = [engine.connect() for _ in range(3)]
        pids = [
            connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in held
        ]
        sockets = [connection.connection.dbapi_connection for connection in held]
        for connection in held:
            connection.close()
        # when the server ends their sessions (as a restart or an idle timeout would)
        admin_url = make_url(postgres_url).set(drivername="postgresql")
        with psycopg.connect(admin_url.render_as_string(hide_password=False)) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
        for dbapi_connection in sockets:
            assert dbapi_connection is not None
            readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 10)
            assert readable, "the server did not close the connection"
        trace.mark()
        # then each of them is replaced as it is checked out, and the request runs
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        assert trace.opened_since_mark() == 3
        # and no checkout sent a ping (psycopg's is an empty query)
        assert 'Query  ";"' not in trace.round_trips()
    finally:
        engine.dispose()
        trace.close()


def test_a_checkout_sends_nothing_before_the_transaction(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    trace = WireTrace()
    trace.attach(engine)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
        trace.mark()
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
        assert trace.opened_since_mark() == 0
        assert trace.round_trips() == ['Query  "BEGIN"', 'Query  "SELECT 1"', 'Query  "COMMIT"']
    finally:
        engine.dispose()
        trace.close()
