"""Orders and refunds as they stand: read, never changed."""

from __future__ import annotations

import uuid

from refundry.domain.errors import RefundNotFound
from refundry.domain.order import Order
from refundry.domain.refund import Refund
from refundry.services.unit_of_work import UnitOfWork


def get_order(uow: UnitOfWork, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    return uow.orders.get(merchant_id, order_id)


def search_orders(
    uow: UnitOfWork, merchant_id: uuid.UUID, query: str | None, *, limit: int, offset: int
) -> list[Order]:
    return uow.orders.search(merchant_id, query, limit=limit, offset=offset)


def get_refund(
    uow: UnitOfWork, merchant_id: uuid.UUID, refund_id: uuid.UUID
) -> tuple[Order, Refund]:
    found = uow.orders.find_refund(merchant_id, refund_id)
    if found is None:
        raise RefundNotFound(f"no refund {refund_id}", refund_id=str(refund_id))
    return found
