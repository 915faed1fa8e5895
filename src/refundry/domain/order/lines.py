"""What an order sells: its lines (goods, digital goods, gift-card links) and its shipping."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from refundry.domain.money import Money, cumulative_share


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
    # Of ``cancelled_quantity``, the units cancelled before the capture: never sold. Set by
    # the capture (a stopped order's failed refund raises ``cancelled_quantity`` later, for
    # sold units).
    voided_quantity: int = 0

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount + self.tax

    @property
    def sold_quantity(self) -> int:
        """The units sold: all but those cancelled before any capture."""
        return self.quantity - self.voided_quantity

    @property
    def sold_discount(self) -> Money:
        """The discount share of the sold units, as ``value_of`` counts it."""
        return self.share(self.discount, self.sold_quantity)

    @property
    def is_stocked(self) -> bool:
        return self.kind is LineKind.PHYSICAL

    def share(self, component: Money, units: int) -> Money:
        """The exact share of ``component`` (the line's discount or tax) owed to its first
        ``units`` units, by the one allocator."""
        return Money(cumulative_share(component.minor, units, self.quantity), component.currency)

    def value_of(self, units: int) -> Money:
        """What the line's first ``units`` units are worth, as a refund of them counts it:
        their price, less their share of the discount, plus their share of the tax."""
        return (
            self.unit_price * units - self.share(self.discount, units) + self.share(self.tax, units)
        )


@dataclass(slots=True)
class Shipping:
    amount: Money
    tax: Money
