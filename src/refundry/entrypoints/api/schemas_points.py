"""Bodies of the loyalty points API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from refundry.domain.points import PointsEntryKind, PointsRounding, ShortfallPolicy
from refundry.entrypoints.api.fields import StrictModel, WholeNumber


class PointsProgramIn(StrictModel):
    points_per_unit: Annotated[int, WholeNumber] = Field(
        strict=True, ge=0, le=10_000, description="points per major currency unit paid"
    )
    rounding: PointsRounding = PointsRounding.DOWN
    shortfall_policy: ShortfallPolicy = Field(
        default=ShortfallPolicy.ALLOW_NEGATIVE,
        description="when a refund takes back points already spent: allow a negative "
        "balance, or take what is left and record the shortfall",
    )


class PointsProgramOut(BaseModel):
    points_per_unit: int
    rounding: PointsRounding
    shortfall_policy: ShortfallPolicy


class PointsEntryOut(BaseModel):
    id: uuid.UUID
    kind: PointsEntryKind
    points: int = Field(description="signed: what the entry did to the balance")
    shortfall: int
    order_id: uuid.UUID | None
    refund_id: uuid.UUID | None
    note: str | None
    created_at: datetime


class CustomerPointsOut(BaseModel):
    customer: str
    balance: int = Field(description="the sum of the ledger")
    entries: list[PointsEntryOut] = Field(description="newest first")
