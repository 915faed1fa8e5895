"""Reconciliation records and discrepancies, compared set-wise in the database.

Every comparison is one statement (an UPDATE ... FROM or an INSERT ... SELECT), so a
run over a million records moves no row through Python and its memory stays flat; the
redeem orders to reverse come back in keyset pages. The records' statements are in
``reconciliation_records``, the discrepancies' in ``reconciliation_discrepancies``.
"""

from __future__ import annotations

import sqlalchemy as sa

from refundry.adapters.db.reconciliation_discrepancies import SqlDiscrepancies
from refundry.adapters.db.reconciliation_records import SqlReconciliationRecords


class SqlReconciliationRepository(SqlReconciliationRecords, SqlDiscrepancies):
    """The ``ReconciliationRepository`` port on one connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
