"""Domain objects as JSON documents, shared by the API's answers and the webhooks' bodies,
so a refund reads the same wherever an integrator meets it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from refundry.domain.order import Order
from refundry.domain.refund import Refund, RefundBreakdown

Json = dict[str, Any]


def breakdown_document(order: Order, breakdown: RefundBreakdown) -> Json:
    """What a refund gives back, line by line and component by component."""
    return {
        "currency": breakdown.currency.code,
        "lines": [
            {
                "line_id": str(line.order_line_id),
                "sku": order.line(line.order_line_id).sku,
                "quantity": line.quantity,
                "unfulfilled_quantity": line.unfulfilled_quantity,
                "restocked_quantity": line.restocked_quantity,
                "subtotal": line.subtotal.minor,
                "discount": line.discount.minor,
                "tax": line.tax.minor,
                "amount": line.amount.minor,
            }
            for line in breakdown.lines
        ],
        "shipping": breakdown.shipping.minor,
        "shipping_tax": breakdown.shipping_tax.minor,
        "goodwill": breakdown.goodwill.minor,
        "adjustment": breakdown.adjustment.minor,
        "tax": breakdown.tax.minor,
        "amount": breakdown.total.minor,
    }


def refund_document(order: Order, refund: Refund) -> Json:
    """The refund as ``GET /v1/refunds/{id}`` shows it, and as webhooks carry it."""
    return {
        **breakdown_document(order, refund.breakdown),
        "id": str(refund.id),
        "order_id": str(refund.order_id),
        "kind": refund.kind.value,
        "method": refund.method.value,
        "status": refund.status.value,
        "reason": refund.reason,
        "failure_reason": refund.failure_reason,
        "provider_reference": refund.provider_reference,
        "points_reversed": refund.points_reversed,
        "points_restored": refund.points_restored,
        "points_value": None if refund.points_value is None else refund.points_value.minor,
        "store_credit_value": (
            None if refund.store_credit_value is None else refund.store_credit_value.minor
        ),
        "money_amount": refund.money_amount.minor,
        "created_by": refund.created_by,
        "created_at": json_time(refund.created_at),
        "completed_at": None if refund.completed_at is None else json_time(refund.completed_at),
        "status_history": [
            {"status": change.status.value, "at": json_time(change.at), "detail": change.detail}
            for change in refund.history
        ],
    }


def json_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
