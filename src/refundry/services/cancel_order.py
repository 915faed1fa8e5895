"""Cancel an order before fulfilment: irreversible, restocks, undoes the payment."""

from __future__ import annotations

import uuid

from refundry.domain.order import Order
from refundry.services.transactions import utcnow
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
