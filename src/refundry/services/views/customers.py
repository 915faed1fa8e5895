"""The merchant's customers (the dashboard's Users): read, never changed."""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.reporting import CustomerRow
from refundry.services.ports.read_model import ReadModel


def customers_page(
    read: ReadModel,
    merchant_id: uuid.UUID,
    query: str | None,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[CustomerRow]:
    """The customers ``query`` finds (part of an e-mail or an external id), the latest
    orderer first, then by e-mail, after the customer at ``after`` (last order, e-mail)."""
    return read.customers.customers_page(merchant_id, query, after=after, limit=limit)


def customers_count(read: ReadModel, merchant_id: uuid.UUID, query: str | None) -> int:
    return read.customers.customers_count(merchant_id, query)
