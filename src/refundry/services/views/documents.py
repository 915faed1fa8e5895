"""Domain objects as JSON documents, shared by the API's answers and the webhooks' bodies,
so a refund reads the same wherever an integrator meets it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from refundry.domain.order import Order
from refundry.domain.refund import Refund, RefundBreakdown
from refundry.domain.returns import BASIS_POINTS_PER_WHOLE, OrderReturn

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
        "fees": breakdown.fees.minor,
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


def return_document(order: Order, order_return: OrderReturn) -> Json:
    """The return as ``GET /v1/returns/{id}`` shows it, and as webhooks carry it."""
    refund = None if order_return.refund_id is None else order.refund_by_id(order_return.refund_id)
    return {
        "kind": "return",
        "id": str(order_return.id),
        "order_id": str(order_return.order_id),
        "order_external_id": order.external_id,
        "customer_email": order.customer.email,
        "status": order_return.status.value,
        "currency": order.currency.code,
        "lines": [
            {
                "line_id": str(line.order_line_id),
                "sku": order.line(line.order_line_id).sku,
                "name": order.line(line.order_line_id).name,
                "quantity": line.quantity,
                "reason": line.reason,
                "restocking_fee_percent": _percent(order_return.fee_bp(line)),
                "resellable": line.resellable,
                "damaged": line.damaged,
                "received": line.received,
            }
            for line in order_return.lines
        ],
        "units": sum(line.quantity for line in order_return.lines),
        "units_received": order_return.received_units,
        "restocking_fee_percent": _percent(order_return.restocking_fee_bp),
        "return_shipping_fee": order_return.return_shipping_fee.minor,
        "note": order_return.note,
        "refund_id": None if refund is None else str(refund.id),
        "refunded": None if refund is None else refund.amount.minor,
        "fees_kept": None if refund is None else refund.breakdown.fees.minor,
        "exchange_order_id": (
            None if order_return.exchange_order_id is None else str(order_return.exchange_order_id)
        ),
        "created_by": order_return.created_by,
        "created_at": json_time(order_return.created_at),
        "updated_at": json_time(order_return.updated_at),
        "status_history": [
            {
                "status": change.status.value,
                "at": json_time(change.at),
                "actor": change.actor,
                "detail": change.detail,
            }
            for change in order_return.history
        ],
    }


def cancellation_record_document(order: Order, refund: Refund) -> Json:
    """The record a cancel's refund leaves, as seed 001's Sales > Returns lists it beside
    the returns ("the system automatically creates a refund order")."""
    return {
        "kind": "cancellation",
        "id": str(refund.id),
        "order_id": str(order.id),
        "order_external_id": order.external_id,
        "customer_email": order.customer.email,
        "status": refund.status.value,
        "currency": order.currency.code,
        "lines": [
            {
                "line_id": str(line.order_line_id),
                "sku": order.line(line.order_line_id).sku,
                "name": order.line(line.order_line_id).name,
                "quantity": line.quantity,
            }
            for line in refund.breakdown.lines
        ],
        "units": sum(line.quantity for line in refund.breakdown.lines),
        "amount": refund.amount.minor,
        "reason": refund.reason,
        "created_by": refund.created_by,
        "created_at": json_time(refund.created_at),
    }


def _percent(basis_points: int) -> float:
    # Two decimals at most: exact as a JSON number.
    return basis_points * 100 / BASIS_POINTS_PER_WHOLE


def json_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
