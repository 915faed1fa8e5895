"""The fake ``uow.orders``: the order aggregates themselves, and the events they record."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from refundry.domain.errors import DuplicateExternalId, OrderNotFound
from refundry.domain.order import AuthorizationState, Order
from refundry.domain.refund import Refund
from refundry.domain.returns import OrderReturn
from refundry.domain.status import OrderStatus
from refundry.services.ports.repositories import OrderSort
from refundry.services.unit_of_work import RecordedEvent
from tests.unit.fakes.store import InMemoryStore


class FakeOrderRepository:
    """Keeps the order objects themselves; ``get`` hands out the same object within a
    unit of work, as the SQL repository's identity map does."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._seen: dict[uuid.UUID, Order] = {}

    def get(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
        order = self._store.orders.get(order_id)
        if order is None or order.merchant_id != merchant_id:
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
        return self._hand_out(order)

    def get_many(self, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, Order]:
        found = {}
        for merchant_id, order_id in keys:
            order = self._store.orders.get(order_id)
            if order is not None and order.merchant_id == merchant_id:
                found[order_id] = self._hand_out(order)
        return found

    def search(
        self,
        merchant_id: uuid.UUID,
        query: str | None,
        *,
        limit: int,
        offset: int,
        status: OrderStatus | None = None,
        customer_email: str | None = None,
    ) -> list[Order]:
        def matches(order: Order) -> bool:
            if order.merchant_id != merchant_id:
                return False
            if status is not None and order.status is not status:
                return False
            email = order.customer.email.lower()
            if customer_email is not None and email != customer_email.strip().lower():
                return False
            if query:
                text = query.strip()
                return text in (order.external_id, str(order.id)) or email == text.lower()
            return True

        found = sorted(
            filter(matches, self._store.orders.values()),
            key=lambda order: (-order.created_at.timestamp(), order.id),
        )
        return [self._hand_out(order) for order in found[offset : offset + limit]]

    def orders_page(
        self,
        merchant_id: uuid.UUID,
        *,
        query: str | None,
        status: OrderStatus | None,
        sort: OrderSort,
        after: tuple[datetime | int, uuid.UUID] | None,
        limit: int,
    ) -> list[Order]:
        found = self.search(
            merchant_id, query, limit=len(self._store.orders), offset=0, status=status
        )
        descending = sort in (OrderSort.NEWEST, OrderSort.HIGHEST_TOTAL)
        found.sort(key=sort.place_of, reverse=descending)  # type: ignore[arg-type]
        if after is not None:
            found = [
                order
                for order in found
                if (sort.place_of(order) < after) == descending  # type: ignore[operator]
                and sort.place_of(order) != after
            ]
        return found[:limit]

    def status_counts(self, merchant_id: uuid.UUID, query: str | None) -> dict[OrderStatus, int]:
        found = self.search(merchant_id, query, limit=len(self._store.orders), offset=0)
        return dict(Counter(order.status for order in found))

    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None:
        for order in self._store.orders.values():
            if order.merchant_id != merchant_id:
                continue
            for refund in order.refunds:
                if refund.id == refund_id:
                    return self._hand_out(order), refund
        return None

    def find_return(
        self, merchant_id: uuid.UUID, return_id: uuid.UUID
    ) -> tuple[Order, OrderReturn] | None:
        for order in self._store.orders.values():
            if order.merchant_id != merchant_id:
                continue
            for order_return in order.returns:
                if order_return.id == return_id:
                    return self._hand_out(order), order_return
        return None

    def lapsing_authorizations(
        self, before: datetime, *, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        lapsing = sorted(
            (
                order
                for order in self._store.orders.values()
                if order.payment.authorization_state is AuthorizationState.ACTIVE
                and order.payment.authorization_expires_at is not None
                and order.payment.authorization_expires_at <= before
                and order.payment.authorization_flagged_at is None
            ),
            key=lambda order: order.payment.authorization_expires_at or before,
        )
        return [(order.merchant_id, order.id) for order in lapsing[:limit]]

    def find_payment_order(
        self, order_id: uuid.UUID | None, payment_reference: str | None
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        for order in self._store.orders.values():
            if (order_id is not None and order.id == order_id) or (
                order_id is None
                and payment_reference is not None
                and order.payment.reference == payment_reference
            ):
                return order.merchant_id, order.id
        return None

    def find_link_order(
        self, link_id: uuid.UUID | None = None, *, token: str | None = None
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        for order in self._store.orders.values():
            for link in order.links:
                if (token is not None and link.token == token) or (
                    token is None and link.id == link_id
                ):
                    return order.merchant_id, order.id
        return None

    def add(self, order: Order) -> None:
        self._check_external_id_free(order)
        self._store.orders[order.id] = order
        self._hand_out(order)

    def add_many(self, orders: Sequence[Order]) -> None:
        for order in orders:
            self.add(order)

    def drain_events(self) -> list[RecordedEvent]:
        """The events recorded by the orders handed out, with their order, once."""
        drained: list[RecordedEvent] = []
        for order in self._seen.values():
            drained.extend((order, event) for event in order.events)
            order.events.clear()
        return drained

    def has_recorded_events(self) -> bool:
        return any(order.events for order in self._seen.values())

    def _hand_out(self, order: Order) -> Order:
        self._seen[order.id] = order
        return order

    def _check_external_id_free(self, order: Order) -> None:
        if order.external_id is None:
            return
        for existing in self._store.orders.values():
            if (existing.merchant_id, existing.external_id) == (
                order.merchant_id,
                order.external_id,
            ):
                raise DuplicateExternalId(
                    f"order {existing.id} already has external id {order.external_id!r}",
                    order_id=str(existing.id),
                )
