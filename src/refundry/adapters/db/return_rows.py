"""Mapping between an order's returns and their rows, in both directions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from refundry.adapters.db.order_rows import utc
from refundry.domain.money import Currency, Money
from refundry.domain.returns import OrderReturn, ReturnLine, ReturnStatus, ReturnStatusChange


@dataclass(frozen=True, slots=True)
class StoredReturn:
    """What the database holds of one return: enough to write only what changed."""

    status: ReturnStatus
    history: int  # status changes stored
    received: tuple[tuple[int, int, int], ...]  # (quantity, resellable, damaged) per line


def stored(order_return: OrderReturn) -> StoredReturn:
    return StoredReturn(
        order_return.status,
        len(order_return.history),
        tuple((line.quantity, line.resellable, line.damaged) for line in order_return.lines),
    )


def return_row(merchant_id: uuid.UUID, order_return: OrderReturn) -> dict[str, Any]:
    return {
        "id": order_return.id,
        "merchant_id": merchant_id,
        "order_id": order_return.order_id,
        "status": order_return.status.value,
        "currency": order_return.return_shipping_fee.currency.code,
        "restocking_fee_bp": order_return.restocking_fee_bp,
        "return_shipping_fee": order_return.return_shipping_fee.minor,
        "note": order_return.note,
        "refund_id": order_return.refund_id,
        "exchange_order_id": order_return.exchange_order_id,
        "created_by": order_return.created_by,
        "created_at": order_return.created_at,
        "updated_at": order_return.updated_at,
    }


def line_rows(merchant_id: uuid.UUID, order_return: OrderReturn) -> list[dict[str, Any]]:
    return [
        {
            "return_id": order_return.id,
            "order_line_id": line.order_line_id,
            "position": position,
            "merchant_id": merchant_id,
            "quantity": line.quantity,
            "reason": line.reason,
            "restocking_fee_bp": line.restocking_fee_bp,
            "resellable": line.resellable,
            "damaged": line.damaged,
        }
        for position, line in enumerate(order_return.lines)
    ]


def history_rows(
    merchant_id: uuid.UUID, order_return: OrderReturn, *, start: int
) -> list[dict[str, Any]]:
    return [
        {
            "return_id": order_return.id,
            "sequence": sequence,
            "merchant_id": merchant_id,
            "status": change.status.value,
            "at": change.at,
            "actor": change.actor,
            "detail": change.detail,
        }
        for sequence, change in enumerate(order_return.history)
        if sequence >= start
    ]


def returns_from_rows(
    rows: Sequence[Mapping[Any, Any]],
    currency: Currency,
    lines_by_return: Mapping[Any, Sequence[Mapping[Any, Any]]],
    history_by_return: Mapping[Any, Sequence[Mapping[Any, Any]]],
) -> list[OrderReturn]:
    return [
        OrderReturn(
            id=row["id"],
            order_id=row["order_id"],
            status=ReturnStatus(row["status"]),
            lines=[
                ReturnLine(
                    order_line_id=line["order_line_id"],
                    quantity=line["quantity"],
                    reason=line["reason"],
                    restocking_fee_bp=line["restocking_fee_bp"],
                    resellable=line["resellable"],
                    damaged=line["damaged"],
                )
                for line in lines_by_return.get(row["id"], [])
            ],
            restocking_fee_bp=row["restocking_fee_bp"],
            return_shipping_fee=Money(row["return_shipping_fee"], currency),
            note=row["note"],
            created_by=row["created_by"],
            created_at=utc(row["created_at"]),
            updated_at=utc(row["updated_at"]),
            history=[
                ReturnStatusChange(
                    ReturnStatus(change["status"]),
                    utc(change["at"]),
                    change["actor"],
                    change["detail"],
                )
                for change in history_by_return.get(row["id"], [])
            ],
            refund_id=row["refund_id"],
            exchange_order_id=row["exchange_order_id"],
        )
        for row in rows
    ]
