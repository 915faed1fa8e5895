"""Cancel an order, or one item of it, before fulfilment: irreversible, restocks, undoes
the payment."""

from __future__ import annotations

import uuid

from refundry.domain.order import Order
from refundry.services.clock import utcnow
from refundry.services.unit_of_work import UnitOfWork


def cancel_order(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    reason: str | None,
    status_label: str | None,
    actor: str,
) -> Order:
    """Cancel under the order's lock; the stock comes back in the same transaction."""
    now = utcnow()
    order = uow.orders.get(merchant_id, order_id)
    cancellation = order.cancel(reason=reason, status_label=status_label, created_by=actor, now=now)
    for sku, units in sorted(cancellation.restock.items()):
        uow.stock.adjust(merchant_id, sku, units, now)
    return order


def cancel_item(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    reason: str | None,
    actor: str,
) -> Order:
    """Cancel one gift-card link or one line under the order's lock; irreversible."""
    order = uow.orders.get(merchant_id, order_id)
    now = utcnow()
    stopped_before = {line.id: line.cancelled_quantity for line in order.lines}
    refund = order.cancel_item(item_id, reason=reason, created_by=actor, now=now)
    restock = order.restock_for(refund) if refund is not None else {}
    # With nothing captured no refund carries the units: those stopped without one go
    # back on the shelf here, as a whole-order cancel puts them back.
    for line in order.lines:
        stopped = line.cancelled_quantity - stopped_before[line.id]
        if stopped and line.is_stocked:
            restock[line.sku] = restock.get(line.sku, 0) + stopped
    for sku, units in sorted(restock.items()):
        uow.stock.adjust(merchant_id, sku, units, now)
    return order
