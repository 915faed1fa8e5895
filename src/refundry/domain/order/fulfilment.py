"""Shipping an order's units, and where its fulfilment stands."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from refundry.domain.errors import FulfilmentExceedsOpen, OrderNotFulfillable
from refundry.domain.order.root import OrderRoot
from refundry.domain.status import OrderStatus


def fulfil(order: OrderRoot, quantities: Mapping[uuid.UUID, int] | None, now: datetime) -> None:
    """Ship units; ``None`` ships every open unit."""
    for line_id, quantity in check_fulfilment(order, quantities).items():
        order.line(line_id).fulfilled_quantity += quantity
    order._touch(now)


def check_fulfilment(
    order: OrderRoot, quantities: Mapping[uuid.UUID, int] | None
) -> dict[uuid.UUID, int]:
    """The units ``fulfil`` would ship, or the error it would raise; changes nothing.
    A held payment is captured for a fulfilment only once it is known to be possible."""
    if order.status in (OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.AUTO_REFUNDED):
        raise OrderNotFulfillable(f"order is {order.status}; it cannot be fulfilled")
    if quantities is None:
        quantities = {line.id: order.open_quantity(line) for line in order.lines}
        quantities = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
        if not quantities:
            raise FulfilmentExceedsOpen("no unit of this order is left to fulfil")
    for line_id, quantity in quantities.items():
        line = order.line(line_id)
        open_units = order.open_quantity(line)
        if not 0 < quantity <= open_units:
            raise FulfilmentExceedsOpen(
                f"line {line_id} has {open_units} open units; cannot fulfil {quantity}",
                line_id=str(line_id),
                open_quantity=open_units,
            )
    return dict(quantities)
