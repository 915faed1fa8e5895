"""Orders to rows and back, scoped by merchant, locked for change.

The repository remembers what it loaded so ``persist`` writes only what changed:
the order row (guarded by its version), line counters, new refunds and new refund
status changes. Refund rows are append-only apart from their status.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from refundry.adapters.db import tables as t
from refundry.domain.errors import Conflict, DuplicateExternalId, OrderNotFound
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    AuthorizationState,
    CaptureMode,
    Customer,
    LineKind,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    Shipping,
)
from refundry.domain.refund import (
    Refund,
    RefundBreakdown,
    RefundKind,
    RefundLine,
    RefundMethod,
    RefundStatus,
    RefundStatusChange,
)
from refundry.domain.status import OrderStatus


@dataclass
class _Loaded:
    version: int
    refund_history: dict[uuid.UUID, int]  # refund id -> status changes already stored


class SqlOrderRepository:
    def __init__(self, connection: sa.Connection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._loaded: dict[uuid.UUID, _Loaded] = {}
        self._seen: dict[uuid.UUID, Order] = {}

    # ------------------------------------------------------------------ reads
    def get(self, merchant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
        """The order, locked until the transaction ends; another merchant's is not found."""
        query = sa.select(t.orders).where(
            t.orders.c.id == order_id, t.orders.c.merchant_id == merchant_id
        )
        if self._lock_rows:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        if row is None:
            raise OrderNotFound(f"no order {order_id}", order_id=str(order_id))
        return self._hydrate([row])[0]

    def search(
        self, merchant_id: uuid.UUID, query: str | None, *, limit: int, offset: int
    ) -> list[Order]:
        """Newest first; ``query`` matches an order id, an external id or a customer e-mail."""
        statement = sa.select(t.orders).where(t.orders.c.merchant_id == merchant_id)
        if query:
            text = query.strip()
            matches = [
                t.orders.c.external_id == text,
                sa.func.lower(t.orders.c.customer_email) == text.lower(),
            ]
            with contextlib.suppress(ValueError):  # not every query is an order id
                matches.append(t.orders.c.id == uuid.UUID(text))
            statement = statement.where(sa.or_(*matches))
        statement = statement.order_by(t.orders.c.created_at.desc(), t.orders.c.id).limit(limit)
        rows = self._connection.execute(statement.offset(offset)).mappings().all()
        return self._hydrate(rows)

    def find_refund(
        self, merchant_id: uuid.UUID, refund_id: uuid.UUID
    ) -> tuple[Order, Refund] | None:
        order_id = self._connection.execute(
            sa.select(t.refunds.c.order_id).where(
                t.refunds.c.id == refund_id, t.refunds.c.merchant_id == merchant_id
            )
        ).scalar_one_or_none()
        if order_id is None:
            return None
        order = self.get(merchant_id, order_id)
        return order, next(refund for refund in order.refunds if refund.id == refund_id)

    # ----------------------------------------------------------------- writes
    def add(self, order: Order) -> None:
        self._check_external_id_free(order)
        savepoint = self._connection.begin_nested()
        try:
            self._connection.execute(sa.insert(t.orders).values(**_order_row(order)))
        except sa.exc.IntegrityError:
            # A concurrent ingest took the external id between our check and insert.
            savepoint.rollback()
            self._check_external_id_free(order)
            raise
        savepoint.commit()
        self._connection.execute(
            sa.insert(t.order_lines),
            [_line_row(order, position, line) for position, line in enumerate(order.lines)],
        )
        self._insert_refunds(order, order.refunds)
        self._remember(order)

    def _check_external_id_free(self, order: Order) -> None:
        if order.external_id is None:
            return
        existing = self._connection.execute(
            sa.select(t.orders.c.id).where(
                t.orders.c.merchant_id == order.merchant_id,
                t.orders.c.external_id == order.external_id,
            )
        ).scalar_one_or_none()
        if existing is not None:
            raise DuplicateExternalId(
                f"order {existing} already has external id {order.external_id!r}",
                order_id=str(existing),
            )

    def persist(self) -> None:
        """Write every change made to the orders this repository handed out."""
        for order in self._seen.values():
            loaded = self._loaded[order.id]
            if order.version == loaded.version:
                continue
            self._update(order, loaded)
            self._remember(order)

    def _update(self, order: Order, loaded: _Loaded) -> None:
        row = _order_row(order)
        result = self._connection.execute(
            sa.update(t.orders)
            .where(
                t.orders.c.id == order.id,
                t.orders.c.merchant_id == order.merchant_id,
                t.orders.c.version == loaded.version,
            )
            .values({key: value for key, value in row.items() if key != "id"})
        )
        if result.rowcount != 1:
            # Cannot happen under the row lock; if it does, refuse rather than overwrite.
            raise Conflict(f"order {order.id} was changed concurrently; retry the request")
        for line in order.lines:
            self._connection.execute(
                sa.update(t.order_lines)
                .where(t.order_lines.c.id == line.id)
                .values(
                    fulfilled_quantity=line.fulfilled_quantity,
                    cancelled_quantity=line.cancelled_quantity,
                )
            )
        new_refunds = [refund for refund in order.refunds if refund.id not in loaded.refund_history]
        self._insert_refunds(order, new_refunds)
        for refund in order.refunds:
            stored = loaded.refund_history.get(refund.id)
            if stored is not None and stored < len(refund.history):
                self._connection.execute(
                    sa.update(t.refunds)
                    .where(t.refunds.c.id == refund.id)
                    .values(
                        status=refund.status.value,
                        completed_at=refund.completed_at,
                        failure_reason=refund.failure_reason,
                    )
                )
                self._insert_history(order, refund, start=stored)

    def _insert_refunds(self, order: Order, refunds: Sequence[Refund]) -> None:
        if not refunds:
            return
        self._connection.execute(sa.insert(t.refunds), [_refund_row(order, r) for r in refunds])
        line_rows = [
            _refund_line_row(order, refund, position, line)
            for refund in refunds
            for position, line in enumerate(refund.breakdown.lines)
        ]
        if line_rows:
            self._connection.execute(sa.insert(t.refund_lines), line_rows)
        for refund in refunds:
            self._insert_history(order, refund, start=0)

    def _insert_history(self, order: Order, refund: Refund, *, start: int) -> None:
        rows = [
            {
                "refund_id": refund.id,
                "sequence": sequence,
                "merchant_id": order.merchant_id,
                "status": change.status.value,
                "at": change.at,
                "detail": change.detail,
            }
            for sequence, change in enumerate(refund.history)
            if sequence >= start
        ]
        if rows:
            self._connection.execute(sa.insert(t.refund_status_changes), rows)

    def _remember(self, order: Order) -> None:
        self._seen[order.id] = order
        self._loaded[order.id] = _Loaded(
            version=order.version,
            refund_history={refund.id: len(refund.history) for refund in order.refunds},
        )

    # ------------------------------------------------------------- hydration
    def _hydrate(self, order_rows: Sequence[sa.RowMapping]) -> list[Order]:
        if not order_rows:
            return []
        order_ids = [row["id"] for row in order_rows]
        lines = self._children(t.order_lines, t.order_lines.c.order_id, order_ids, "position")
        refund_rows = self._children(t.refunds, t.refunds.c.order_id, order_ids, "created_at")
        refund_ids = [row["id"] for rows in refund_rows.values() for row in rows]
        refund_line_rows: dict[Any, list[sa.RowMapping]] = {}
        history_rows: dict[Any, list[sa.RowMapping]] = {}
        if refund_ids:
            refund_line_rows = self._children(
                t.refund_lines, t.refund_lines.c.refund_id, refund_ids, "position"
            )
            history_rows = self._children(
                t.refund_status_changes, t.refund_status_changes.c.refund_id, refund_ids, "sequence"
            )
        orders = []
        for row in order_rows:
            order_id = row["id"]
            if order_id in self._seen:
                orders.append(self._seen[order_id])
                continue
            currency = Currency.of(row["currency"])
            order = _order_from_rows(
                row,
                currency,
                lines.get(order_id, []),
                [
                    _refund_from_rows(
                        refund_row,
                        currency,
                        refund_line_rows.get(refund_row["id"], []),
                        history_rows.get(refund_row["id"], []),
                    )
                    for refund_row in refund_rows.get(order_id, [])
                ],
            )
            self._remember(order)
            orders.append(order)
        return orders

    def _children(
        self, table: sa.Table, key: sa.Column[Any], ids: Iterable[Any], order_by: str
    ) -> dict[Any, list[sa.RowMapping]]:
        rows = self._connection.execute(
            sa.select(table).where(key.in_(list(ids))).order_by(key, table.c[order_by])
        ).mappings()
        grouped: dict[Any, list[sa.RowMapping]] = defaultdict(list)
        for row in rows:
            grouped[row[key.name]].append(row)
        return grouped


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything Refundry stores is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    aware = _aware(value)
    assert aware is not None
    return aware


def _order_row(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "merchant_id": order.merchant_id,
        "external_id": order.external_id,
        "customer_email": order.customer.email,
        "customer_external_id": order.customer.external_id,
        "currency": order.currency.code,
        "status": order.status.value,
        "status_label": order.status_label,
        "fulfilment_status": order.fulfilment_status.value,
        "total": order.total.minor,
        "shipping_amount": order.shipping.amount.minor,
        "shipping_tax": order.shipping.tax.minor,
        "payment_method": order.payment.method.value,
        "capture_mode": order.payment.capture_mode.value,
        "authorized": order.payment.authorized.minor,
        "captured": order.payment.captured.minor,
        "authorization_state": order.payment.authorization_state.value,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": order.cancelled_at,
        "version": order.version,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _line_row(order: Order, position: int, line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "merchant_id": order.merchant_id,
        "order_id": order.id,
        "position": position,
        "sku": line.sku,
        "name": line.name,
        "kind": line.kind.value,
        "quantity": line.quantity,
        "unit_price": line.unit_price.minor,
        "discount": line.discount.minor,
        "tax": line.tax.minor,
        "fulfilled_quantity": line.fulfilled_quantity,
        "cancelled_quantity": line.cancelled_quantity,
    }


def _refund_row(order: Order, refund: Refund) -> dict[str, Any]:
    breakdown = refund.breakdown
    return {
        "id": refund.id,
        "merchant_id": order.merchant_id,
        "order_id": order.id,
        "kind": refund.kind.value,
        "method": refund.method.value,
        "status": refund.status.value,
        "currency": order.currency.code,
        "amount": refund.amount.minor,
        "tax": breakdown.tax.minor,
        "shipping": breakdown.shipping.minor,
        "shipping_tax": breakdown.shipping_tax.minor,
        "goodwill": breakdown.goodwill.minor,
        "adjustment": breakdown.adjustment.minor,
        "reason": refund.reason,
        "failure_reason": refund.failure_reason,
        "created_by": refund.created_by,
        "created_at": refund.created_at,
        "completed_at": refund.completed_at,
    }


def _refund_line_row(
    order: Order, refund: Refund, position: int, line: RefundLine
) -> dict[str, Any]:
    return {
        "refund_id": refund.id,
        "position": position,
        "order_line_id": line.order_line_id,
        "merchant_id": order.merchant_id,
        "quantity": line.quantity,
        "unfulfilled_quantity": line.unfulfilled_quantity,
        "restocked_quantity": line.restocked_quantity,
        "subtotal": line.subtotal.minor,
        "discount": line.discount.minor,
        "tax": line.tax.minor,
    }


def _order_from_rows(
    row: sa.RowMapping,
    currency: Currency,
    line_rows: Sequence[sa.RowMapping],
    refunds: list[Refund],
) -> Order:
    def money(value: int) -> Money:
        return Money(value, currency)

    return Order(
        id=row["id"],
        merchant_id=row["merchant_id"],
        external_id=row["external_id"],
        customer=Customer(row["customer_email"], row["customer_external_id"]),
        currency=currency,
        lines=[
            OrderLine(
                id=line["id"],
                sku=line["sku"],
                name=line["name"],
                kind=LineKind(line["kind"]),
                quantity=line["quantity"],
                unit_price=money(line["unit_price"]),
                discount=money(line["discount"]),
                tax=money(line["tax"]),
                fulfilled_quantity=line["fulfilled_quantity"],
                cancelled_quantity=line["cancelled_quantity"],
            )
            for line in line_rows
        ],
        shipping=Shipping(money(row["shipping_amount"]), money(row["shipping_tax"])),
        payment=Payment(
            method=PaymentMethod(row["payment_method"]),
            capture_mode=CaptureMode(row["capture_mode"]),
            authorized=money(row["authorized"]),
            captured=money(row["captured"]),
            authorization_state=AuthorizationState(row["authorization_state"]),
        ),
        status=OrderStatus(row["status"]),
        status_label=row["status_label"],
        cancel_reason=row["cancel_reason"],
        cancelled_at=_aware(row["cancelled_at"]),
        refunds=refunds,
        version=row["version"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def _refund_from_rows(
    row: sa.RowMapping,
    currency: Currency,
    line_rows: Sequence[sa.RowMapping],
    history_rows: Sequence[sa.RowMapping],
) -> Refund:
    def money(value: int) -> Money:
        return Money(value, currency)

    return Refund(
        id=row["id"],
        order_id=row["order_id"],
        kind=RefundKind(row["kind"]),
        method=RefundMethod(row["method"]),
        breakdown=RefundBreakdown(
            currency=currency,
            lines=tuple(
                RefundLine(
                    order_line_id=line["order_line_id"],
                    quantity=line["quantity"],
                    unfulfilled_quantity=line["unfulfilled_quantity"],
                    restocked_quantity=line["restocked_quantity"],
                    subtotal=money(line["subtotal"]),
                    discount=money(line["discount"]),
                    tax=money(line["tax"]),
                )
                for line in line_rows
            ),
            shipping=money(row["shipping"]),
            shipping_tax=money(row["shipping_tax"]),
            goodwill=money(row["goodwill"]),
            adjustment=money(row["adjustment"]),
        ),
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=_utc(row["created_at"]),
        status=RefundStatus(row["status"]),
        history=[
            RefundStatusChange(RefundStatus(h["status"]), _utc(h["at"]), h["detail"])
            for h in history_rows
        ],
        completed_at=_aware(row["completed_at"]),
        failure_reason=row["failure_reason"],
    )
