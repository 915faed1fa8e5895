"""Returns as they stand: one, an order's, or a merchant's page by page; never changed."""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.order import Order
from refundry.domain.refund import Refund
from refundry.domain.returns import AfterSales, OrderReturn, ReturnNotFound, ReturnStatus
from refundry.services.ports.read_model import ReadModel
from refundry.services.ports.repositories import AfterSalesCounts, ReturnSort


def get_return(
    read: ReadModel, merchant_id: uuid.UUID, return_id: uuid.UUID
) -> tuple[Order, OrderReturn]:
    found = read.orders.find_return(merchant_id, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}", return_id=str(return_id))
    return found


def order_returns(read: ReadModel, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    """The order, whose ``returns`` are its returns, oldest first."""
    return read.orders.get(merchant_id, order_id)


def list_returns(
    read: ReadModel,
    merchant_id: uuid.UUID,
    *,
    status: ReturnStatus | None,
    query: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Order, OrderReturn]]:
    """Newest first; ``query`` is a return id, an order id or external id, or an e-mail."""
    page = read.orders.returns_page(
        merchant_id, status=status, query=query, after=after, limit=limit
    )
    return [(order, record) for order, record in page if isinstance(record, OrderReturn)]


def list_after_sales(
    read: ReadModel,
    merchant_id: uuid.UUID,
    *,
    status: ReturnStatus | None,
    query: str | None,
    after: tuple[datetime | int, uuid.UUID] | None,
    limit: int,
    records: AfterSales = AfterSales.BOTH,
    sort: ReturnSort = ReturnSort.NEWEST,
) -> list[tuple[Order, OrderReturn | Refund]]:
    """Seed 001's Sales > Returns: returns and the refunds cancels made (or one of the two),
    newest first unless ``sort`` says otherwise; a return status filter lists returns only."""
    return read.orders.returns_page(
        merchant_id,
        status=status,
        query=query,
        after=after,
        limit=limit,
        records=records,
        sort=sort,
    )


def after_sales_counts(
    read: ReadModel, merchant_id: uuid.UUID, query: str | None
) -> AfterSalesCounts:
    """How many returns ``query`` finds in each status, and how many cancellation refunds."""
    return read.orders.after_sales_counts(merchant_id, query)
