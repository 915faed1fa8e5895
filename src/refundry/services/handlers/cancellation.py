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
    """Cancel under the order's lock; the stock comes back in the same transaction (the
    order records it, the bus's stock handler applies it)."""
    order = uow.orders.get(merchant_id, order_id)
    order.cancel(reason=reason, status_label=status_label, created_by=actor, now=utcnow())
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
    order.cancel_item(item_id, reason=reason, created_by=actor, now=utcnow())
    return order
