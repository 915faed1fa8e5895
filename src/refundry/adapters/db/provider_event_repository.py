"""Inbound provider events, stored once per (provider, event id)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from refundry.adapters.db.tables import messages as message_tables


class SqlProviderEventRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def add_once(
        self,
        *,
        provider: str,
        event_id: str,
        event_type: str,
        merchant_id: uuid.UUID | None,
        order_id: uuid.UUID | None,
        payload: str,
        now: datetime,
    ) -> bool:
        """Store the event; ``False`` if this provider sent it before (nothing is written).

        A concurrent delivery of the same event waits on the unique index and then
        inserts nothing, so exactly one of them carries the event's work.
        """
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(message_tables.provider_events)
            .values(
                id=uuid.uuid4(),
                provider=provider,
                event_id=event_id,
                type=event_type,
                merchant_id=merchant_id,
                order_id=order_id,
                payload=payload,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(message_tables.provider_events.c.id)
        )
        # RETURNING rather than rowcount: psycopg reports no count for ON CONFLICT inserts.
        return self._connection.execute(statement).first() is not None
