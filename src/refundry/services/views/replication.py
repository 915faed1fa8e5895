"""How far the reads that may lag are behind the primary: a figure for monitoring."""

from __future__ import annotations

from refundry.services import transactions
from refundry.services.ports.read_model import ReadModelFactory


def replica_lag_seconds(lagging_reads: ReadModelFactory) -> float | None:
    """Seconds the replica serving reports, exports, dashboard lists and ``verify`` is
    behind the primary (0 when it has applied everything it received); None when those
    reads go to the primary itself (no ``REFUNDRY_READ_DATABASE_URL``)."""
    return transactions.query(lagging_reads, lambda read: read.replication.lag_seconds())
