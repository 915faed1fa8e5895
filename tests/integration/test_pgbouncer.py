"""Refundry behind PgBouncer in transaction mode (issue 23).

The races and the outbox run through PgBouncer in their own modules
(tests/integration/test_concurrent_refunds.py, tests/e2e/test_provider_batches.py); here,
the one thing transaction pooling broke, alone: psycopg's server-side prepared statements.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refundry.bootstrap import Container
from refundry.config import Settings

# psycopg prepares a statement on the server once a connection has run it 5 times.
RUNS = 8


@pytest.mark.postgres
def test_two_connections_repeating_statements_through_pgbouncer_never_meet_a_prepared_one(
    pgbouncer_container: Container,
) -> None:
    # given two connections of the API's engine, taking turns, each transaction handed
    # the server connection the other one's last transaction used
    engine = pgbouncer_container.engine
    with engine.connect() as first, engine.connect() as second:
        # when each runs the same statement, one transaction at a time, more often than
        # psycopg's threshold for preparing it
        for run in range(RUNS):
            for connection in (first, second):
                with connection.begin():
                    found = connection.execute(
                        sa.text("SELECT CAST(:run AS int) + 1"), {"run": run}
                    )
                    assert found.scalar_one() == run + 1
        # then none was prepared on a server connection, where the next transaction may be
        # another client's (PgBouncer 1.18, Debian 12's, keeps none for its client: the
        # second client's prepare failed, "prepared statement _pg3_0 already exists")
        with first.begin():
            prepared = first.execute(sa.text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared.scalar_one() == 0


def test_the_pooler_setting_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFUNDRY_DATABASE_POOLER", "transaction")
    assert Settings.from_env().transaction_pooler
    monkeypatch.setenv("REFUNDRY_DATABASE_POOLER", "pgbouncer-session")
    with pytest.raises(ValueError, match="REFUNDRY_DATABASE_POOLER must be one of"):
        Settings.from_env()
    monkeypatch.delenv("REFUNDRY_DATABASE_POOLER")
    assert not Settings.from_env().transaction_pooler
