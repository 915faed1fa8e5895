"""Cancel an order, or one item of it, before fulfilment: irreversible, restocks, undoes
the payment."""

from __future__ import annotations

import uuid

from refundry.domain.errors import OrderNotFound
from refundry.domain.order import DEFAULT_CANCEL_LABEL, Order
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
    order records it, the bus's stock handler applies it).

    ``status_label`` is ``cancelled`` when blank, else ``cancelled`` or one of the
    merchant's own labels (seed 001's fixed list); any other refuses the cancel
    (``UnknownCancelLabel``) before the order is locked, and nothing is written.
    """
    label = _status_label(uow, merchant_id, order_id, status_label)
    order = uow.orders.get(merchant_id, order_id)
    order.cancel(reason=reason, status_label=label, created_by=actor, now=utcnow())
    return order


def _status_label(
    uow: UnitOfWork, merchant_id: uuid.UUID, order_id: uuid.UUID, requested: str | None
) -> str:
    if not (requested or "").strip():
        return DEFAULT_CANCEL_LABEL  # the usual case reads no merchant
    merchant = uow.merchants.get(merchant_id)
    if merchant is None:
        raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
    return merchant.cancel_label(requested)


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
