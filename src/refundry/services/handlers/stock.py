"""Stock levels: set by hand, and moved by orders (the bus's handler for ``StockMoved``).

The domain decides which SKUs a change moves (``domain/order/restock.py``); this applies
the moves in the change's own transaction, so a rollback moves nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from refundry.domain.events import StockMoved
from refundry.services.clock import utcnow
from refundry.services.ports.repositories import StockLevel
from refundry.services.unit_of_work import RecordedEvent, UnitOfWork


def apply_stock_moves(uow: UnitOfWork, recorded: Sequence[RecordedEvent], now: datetime) -> None:
    totals: dict[tuple[uuid.UUID, str], int] = {}
    for order, event in recorded:
        if isinstance(event, StockMoved):
            for sku, units in event.moves:
                key = (order.merchant_id, sku)
                totals[key] = totals.get(key, 0) + units
    # Sorted: two changes sharing SKUs lock their stock rows in the same order.
    for (merchant_id, sku), units in sorted(totals.items()):
        if units:
            uow.stock.adjust(merchant_id, sku, units, now)


def set_stock(uow: UnitOfWork, merchant_id: uuid.UUID, sku: str, on_hand: int) -> StockLevel:
    uow.stock.set(merchant_id, sku, on_hand, utcnow())
    return uow.stock.list(merchant_id, [sku])[0]
