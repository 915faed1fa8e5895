"""Stock levels per SKU, as they stand."""

from __future__ import annotations

import uuid

from refundry.services.ports.read_model import ReadModel
from refundry.services.ports.repositories import StockLevel


def list_stock(
    read: ReadModel, merchant_id: uuid.UUID, skus: list[str] | None = None
) -> list[StockLevel]:
    return read.stock.list(merchant_id, skus)
