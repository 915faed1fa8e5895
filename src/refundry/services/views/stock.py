"""Stock levels per SKU, as they stand."""

from __future__ import annotations

import uuid

from refundry.services.ports.repositories import StockLevel
from refundry.services.unit_of_work import UnitOfWork


def list_stock(
    uow: UnitOfWork, merchant_id: uuid.UUID, skus: list[str] | None = None
) -> list[StockLevel]:
    return uow.stock.list(merchant_id, skus)
