"""The schema, one module per area. Every row carries its merchant id and every query
filters by it.

Money columns are ``BigInteger`` minor units; the currency lives on the order (and
is repeated on refunds so reports never need a join to read an amount correctly).

Importing any table module runs this one first, which imports them all: ``metadata``
always holds the whole schema, as Alembic's comparison with the migrations needs.
"""

from __future__ import annotations

# Imported for what importing them does: each defines its tables on ``metadata``.
from refundry.adapters.db.tables import (  # noqa: F401
    ledgers,
    merchants,
    messages,
    orders,
    reconciliation,
    returns,
    staff,
    webhooks,
)
from refundry.adapters.db.tables.base import metadata

__all__ = ["metadata"]
