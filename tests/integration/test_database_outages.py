"""Which driver errors mean the database is out of reach (``adapters/db/outages.py``).

A connection lost under a transaction is an outage; a statement that failed on a working
connection is not, though psycopg calls a serialization failure, a deadlock and a lock or
statement timeout ``OperationalError`` too, as it does a refused connection.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from refundry.adapters.db.engine import begin, create_engine
from refundry.adapters.db.migrate import migrate
from refundry.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from refundry.domain.errors import DatabaseUnavailable
from refundry.services.unit_of_work import CommitOutcomeUnknown

pytestmark = pytest.mark.postgres


def test_a_connection_lost_under_a_transaction_is_an_outage_and_the_next_one_works(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    try:
        connection, _ = begin(engine, write=True)
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # when the server ends the session mid-transaction (a restart, a failover)
        admin_url = make_url(postgres_url).set(drivername="postgresql")
        with psycopg.connect(admin_url.render_as_string(hide_password=False)) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(DatabaseUnavailable) as lost:
            connection.exec_driver_sql("SELECT 1")
        connection.close()
        # then the driver's error is kept as the cause, and a new transaction works
        assert isinstance(lost.value.__cause__, psycopg.OperationalError)
        with engine.connect() as fresh:
            assert fresh.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("statement", "driver_error"),
    [
        (
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$",
            psycopg.errors.SerializationFailure,
        ),
        (
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected'; END $$",
            psycopg.errors.DeadlockDetected,
        ),
        (
            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'lock_not_available'; END $$",
            psycopg.errors.LockNotAvailable,
        ),
        ("SET LOCAL statement_timeout = '10ms'; SELECT pg_sleep(5)", psycopg.errors.QueryCanceled),
    ],
)
def test_a_statement_that_failed_on_a_working_connection_keeps_its_type(
    postgres_url: str, statement: str, driver_error: type[Exception]
) -> None:
    engine = create_engine(postgres_url)
    try:
        connection, transaction = begin(engine, write=True)
        with pytest.raises(sa.exc.OperationalError) as failed:
            connection.exec_driver_sql(statement)
        assert isinstance(failed.value.orig, driver_error)
        transaction.rollback()
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1  # still connected
        connection.close()
    finally:
        engine.dispose()


def test_a_wrong_database_name_is_its_own_error_not_an_outage(postgres_url: str) -> None:
    # given a URL naming a database the server does not have (a setting to fix)
    engine = create_engine(
        make_url(postgres_url)
        .set(database="no_such_database_here")
        .render_as_string(hide_password=False)
    )
    try:
        # then the driver's error comes through, naming it, not "try again shortly"
        with pytest.raises(sa.exc.OperationalError, match="no_such_database_here"):
            engine.connect().close()
    finally:
        engine.dispose()


def test_a_write_on_a_server_that_takes_no_writes_is_an_outage_and_the_pool_starts_again(
    postgres_url: str,
) -> None:
    # A server that has become a standby since the connection was opened: every
    # transaction on it is read-only, as default_transaction_read_only makes it here.
    engine = create_engine(
        postgres_url, connect_args={"options": "-c default_transaction_read_only=on"}
    )
    try:
        idle, connection = engine.connect(), engine.connect()
        pids = {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in (idle, connection)}
        idle.close()  # back in the pool, idle
        connection.commit()
        with pytest.raises(DatabaseUnavailable) as refused:
            connection.exec_driver_sql("CREATE TABLE failover_probe (x int)")
        connection.close()
        assert isinstance(refused.value.__cause__, psycopg.errors.ReadOnlySqlTransaction)
        # then the pool's connections are replaced: the idle one is not handed out again
        with engine.connect() as fresh:
            assert fresh.exec_driver_sql("SELECT pg_backend_pid()").scalar() not in pids
    finally:
        engine.dispose()


def test_a_connection_lost_at_commit_leaves_the_outcome_unknown(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a unit of work whose COMMIT meets a connection the server closed
    engine = create_engine(postgres_url)
    migrate(engine)
    factory = SqlUnitOfWorkFactory(engine)
    try:
        with factory() as uow:
            uow.settings.put_if_absent(f"commit-test-{uuid.uuid4().hex}", "x")
            raw = uow._connection.connection.dbapi_connection  # type: ignore[union-attr]
            pid = raw.info.backend_pid
            commit = raw.commit

            def lost() -> None:
                # the server ends the session just as the COMMIT goes (a failover, say)
                admin_url = make_url(postgres_url).set(drivername="postgresql")
                with psycopg.connect(admin_url.render_as_string(hide_password=False)) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                commit()

            monkeypatch.setattr(raw, "commit", lost)
            # then it is an outage whose outcome nobody can tell, not a plain "try again"
            with pytest.raises(CommitOutcomeUnknown) as unknown:
                uow.commit()
        assert isinstance(unknown.value, DatabaseUnavailable)  # the worker and CLI: an outage
        assert isinstance(unknown.value.__cause__, psycopg.OperationalError)
    finally:
        engine.dispose()


def test_a_write_in_a_read_transaction_is_a_bug_not_an_outage(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        connection, transaction = begin(engine, write=False)
        with pytest.raises(sa.exc.InternalError) as failed:
            connection.exec_driver_sql("CREATE TABLE failover_probe (x int)")
        assert isinstance(failed.value.orig, psycopg.errors.ReadOnlySqlTransaction)
        transaction.rollback()
        connection.close()
    finally:
        engine.dispose()
