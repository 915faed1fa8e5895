"""A customer's points as they stand: the balance (the ledger's sum) and the newest entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from refundry.domain.points import PointsEntry
from refundry.services.ports.read_model import ReadModel


@dataclass(frozen=True, slots=True)
class CustomerPoints:
    customer: str
    balance: int
    entries: list[PointsEntry]


def customer_points(
    read: ReadModel, merchant_id: uuid.UUID, customer: str, limit: int = 100
) -> CustomerPoints:
    """The balance (the ledger's sum) and the newest entries; a stranger has zero."""
    return CustomerPoints(
        customer,
        read.points.balance(merchant_id, customer),
        read.points.entries(merchant_id, customer, limit),
    )
