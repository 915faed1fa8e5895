"""What an order sells: its lines (goods, digital goods, gift-card links) and its shipping."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from refundry.domain.money import Money


class LineKind(StrEnum):
    PHYSICAL = "physical"
    DIGITAL = "digital"
    GIFT_CARD_LINK = "gift_card_link"


@dataclass(slots=True)
class OrderLine:
    id: uuid.UUID
    sku: str
    name: str
    kind: LineKind
    quantity: int
    unit_price: Money  # tax-exclusive, per unit
    discount: Money  # line total
    tax: Money  # line total
    fulfilled_quantity: int = 0
    cancelled_quantity: int = 0  # stopped without a refund record (nothing was captured)

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount + self.tax

    @property
    def is_stocked(self) -> bool:
        return self.kind is LineKind.PHYSICAL


@dataclass(slots=True)
class Shipping:
    amount: Money
    tax: Money
