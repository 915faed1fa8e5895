"""The port reconciliation reads and writes through (set-based SQL behind it, so a run
over a million records keeps its memory flat)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from refundry.domain.reconciliation import Discrepancy, ExpectedRecord


class ReconciliationRepository(Protocol):
    def add_records(
        self, merchant_id: uuid.UUID, records: Sequence[ExpectedRecord], now: datetime
    ) -> None:
        """Insert, or correct, records by transaction id (a re-import changes nothing)."""

    def link_records(self, merchant_id: uuid.UUID | None) -> int:
        """Match records not yet matched to their orders; how many were matched."""

    def orders_missing_records(
        self,
        merchant_id: uuid.UUID | None,
        created_before: datetime,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
        """Settled redeem orders older than ``created_before`` with no record: (merchant,
        order, placed at), oldest first, after the ``(placed at, order)`` given."""

    def has_record(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> bool: ...

    def add_discrepancy(self, discrepancy: Discrepancy) -> bool:
        """``False`` when the same (kind, subject) was already recorded."""

    def note_discrepancies(
        self, merchant_id: uuid.UUID | None, imported_before: datetime, now: datetime
    ) -> int:
        """Record mismatches, orphans and late records; how many are new."""

    def unsettled_reversals(
        self, merchant_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
        """Auto-refunded orders that still owe money: (merchant, order, currency, captured)."""

    def resolve_discrepancies(self, merchant_id: uuid.UUID | None, now: datetime) -> int:
        """Close mismatches and orphans that no longer hold; how many were closed."""

    def discrepancies(
        self,
        merchant_id: uuid.UUID,
        *,
        include_resolved: bool,
        after: tuple[datetime, str, str] | None,
        limit: int,
    ) -> list[Discrepancy]:
        """Newest first is not needed for a report: oldest first, keyset-paged."""

    def count_records(self, merchant_id: uuid.UUID) -> int: ...
