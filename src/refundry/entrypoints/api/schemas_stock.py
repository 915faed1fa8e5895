"""Stock level bodies: units on hand per SKU."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from refundry.entrypoints.api.fields import MAX_QUANTITY, StrictModel, WholeNumber


class StockIn(StrictModel):
    on_hand: Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=10**12), WholeNumber]


class StockOut(BaseModel):
    sku: str
    on_hand: int


class StockListOut(BaseModel):
    data: list[StockOut]
