"""What a read connection knows of streaming replication: how far its server lags behind.

Read on the server the lagging reads go to (``REFUNDRY_READ_DATABASE_URL``): a replica
answers how long ago the primary committed the last transaction it has applied; the primary
itself, or SQLite, has no lag to tell.
"""

from __future__ import annotations

import sqlalchemy as sa

# Zero when the replica streams from the primary and has applied all the WAL it received
# (an idle primary sends none, and the last transaction replayed then only looks old);
# otherwise the age of the newest transaction it has applied: behind in replay, or cut off
# from the primary (then what it received is all it has, and it only grows stale). NULL on
# a primary, or before a replica has applied any. The receiver's status is visible only to
# a role with pg_read_all_stats: without it, an idle primary's replica reads as behind.
_LAG = sa.text(
    """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
            AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
            THEN 0.0
        ELSE GREATEST(
            0.0, EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
        )::float8
    END
    """
)


class SqlReplicationQueries:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def lag_seconds(self) -> float | None:
        """Seconds this server's data lags behind the primary; None unless it is a replica."""
        if self._connection.dialect.name != "postgresql":
            return None
        lag = self._connection.execute(_LAG).scalar_one()
        return None if lag is None else float(lag)
