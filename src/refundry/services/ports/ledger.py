"""The port ``refundry verify`` reads the ledgers through (read-only, set-based)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from refundry.domain.ledger_check import FloatLedger, OrderPointsLedger, StoredOrderFigures
from refundry.domain.order import Order


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    order: Order
    stored: StoredOrderFigures
    points: OrderPointsLedger
    refunds_in_flight: frozenset[uuid.UUID]  # of this order's batch


class LedgerQueries(Protocol):
    def snapshot(self) -> None:
        """Make the rest of this transaction read one consistent snapshot."""

    def merchant_ids(self) -> list[uuid.UUID]: ...

    def order_batch(
        self, merchant_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[CheckedOrder]:
        """The merchant's next ``limit`` orders by (created_at, id), after ``after``."""

    def float_ledger(self, merchant_id: uuid.UUID) -> FloatLedger | None:
        """``None`` when the merchant has no float."""

    def activity_span(self, merchant_id: uuid.UUID) -> tuple[datetime, datetime] | None: ...
