"""Stock levels the merchant sets by hand (cancels and restocking refunds move them too)."""

from __future__ import annotations

import uuid

from refundry.services.clock import utcnow
from refundry.services.unit_of_work import StockLevel, UnitOfWork


def set_stock(uow: UnitOfWork, merchant_id: uuid.UUID, sku: str, on_hand: int) -> StockLevel:
    uow.stock.set(merchant_id, sku, on_hand, utcnow())
    return uow.stock.list(merchant_id, [sku])[0]
