"""Staff members' saved views, always read and changed as one member's of one merchant."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from refundry.adapters.db.engine import conflict_insert
from refundry.adapters.db.order_rows import utc
from refundry.adapters.db.tables.staff import saved_views, staff_users
from refundry.domain.saved_views import Listing, SavedView, ViewFilters

v = saved_views.c


class SqlSavedViewRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows

    def lock_member(self, merchant_id: uuid.UUID, member_id: uuid.UUID) -> None:
        # The member's row stands for their views (a view not yet saved has no row to
        # lock). FOR NO KEY UPDATE: rows elsewhere that refer to the member (their
        # foreign keys take KEY SHARE) are not held up. SQLite's write transaction holds
        # the database's write lock from its BEGIN already.
        if self._lock_rows and self._connection.dialect.name == "postgresql":
            self._connection.execute(
                sa.select(staff_users.c.id)
                .where(staff_users.c.id == member_id, staff_users.c.merchant_id == merchant_id)
                .with_for_update(key_share=True)
            )

    def of_member(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, listing: Listing
    ) -> list[SavedView]:
        rows = self._connection.execute(
            sa.select(saved_views)
            .where(
                v.merchant_id == merchant_id,
                v.staff_user_id == member_id,
                v.listing == listing.value,
            )
            .order_by(v.created_at, v.id)
        ).mappings()
        return [_view(row) for row in rows]

    def add(self, view: SavedView) -> bool:
        statement = (
            conflict_insert(self._connection, saved_views)
            .values(
                id=view.id,
                merchant_id=view.merchant_id,
                staff_user_id=view.member_id,
                listing=view.listing.value,
                name=view.name,
                name_key=view.name.casefold(),
                status=view.filters.status,
                search=view.filters.search,
                sort=view.filters.sort,
                created_at=view.created_at,
            )
            .on_conflict_do_nothing(index_elements=["staff_user_id", "listing", "name_key"])
            .returning(v.id)
        )
        # RETURNING rather than rowcount: psycopg reports no count for ON CONFLICT inserts.
        return self._connection.execute(statement).first() is not None

    def delete(
        self, merchant_id: uuid.UUID, member_id: uuid.UUID, view_id: uuid.UUID
    ) -> SavedView | None:
        row = (
            self._connection.execute(
                sa.delete(saved_views)
                .where(v.id == view_id, v.merchant_id == merchant_id, v.staff_user_id == member_id)
                .returning(*saved_views.c)
            )
            .mappings()
            .first()
        )
        return None if row is None else _view(row)


def _view(row: sa.RowMapping) -> SavedView:
    return SavedView(
        id=row["id"],
        merchant_id=row["merchant_id"],
        member_id=row["staff_user_id"],
        listing=Listing(row["listing"]),
        name=row["name"],
        filters=ViewFilters(status=row["status"], search=row["search"], sort=row["sort"]),
        created_at=utc(row["created_at"]),
    )
