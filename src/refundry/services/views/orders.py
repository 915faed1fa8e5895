"""Orders and refunds as they stand: read, never changed."""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.errors import RefundNotFound
from refundry.domain.order import Order
from refundry.domain.refund import Refund
from refundry.domain.status import OrderStatus
from refundry.services.ports.read_model import ReadModel
from refundry.services.ports.repositories import OrderSort


def get_order(read: ReadModel, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    return read.orders.get(merchant_id, order_id)


def search_orders(
    read: ReadModel,
    merchant_id: uuid.UUID,
    query: str | None,
    *,
    limit: int,
    offset: int,
    status: OrderStatus | None = None,
) -> list[Order]:
    """Newest first; ``query`` is an order id, an external id or a customer's e-mail."""
    return read.orders.search(merchant_id, query, limit=limit, offset=offset, status=status)


def orders_page(
    read: ReadModel,
    merchant_id: uuid.UUID,
    *,
    query: str | None,
    status: OrderStatus | None,
    sort: OrderSort,
    after: tuple[datetime | int, uuid.UUID] | None,
    limit: int,
) -> list[Order]:
    """Customer Service's list, a page at a time: the orders ``query`` finds (an order id,
    an external id or a customer's e-mail), of one status if asked, in ``sort``'s order,
    after the order at ``after`` (``OrderSort.place_of``)."""
    return read.orders.orders_page(
        merchant_id, query=query, status=status, sort=sort, after=after, limit=limit
    )


def status_counts(
    read: ReadModel, merchant_id: uuid.UUID, query: str | None
) -> dict[OrderStatus, int]:
    """How many orders ``query`` finds in each status (a status with none is left out)."""
    return read.orders.status_counts(merchant_id, query)


def get_refund(
    read: ReadModel, merchant_id: uuid.UUID, refund_id: uuid.UUID
) -> tuple[Order, Refund]:
    found = read.orders.find_refund(merchant_id, refund_id)
    if found is None:
        raise RefundNotFound(f"no refund {refund_id}", refund_id=str(refund_id))
    return found
