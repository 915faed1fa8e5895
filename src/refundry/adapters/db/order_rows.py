"""Mapping between order aggregates and table rows, in both directions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from refundry.domain.gift_card import GiftCardLink
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
from refundry.domain.points import OrderPoints, PointsRedemption
from refundry.domain.refund import (
    Refund,
    RefundBreakdown,
    RefundKind,
    RefundLine,
    RefundMethod,
    RefundStatus,
    RefundStatusChange,
)
from refundry.domain.reporting import reason_key
from refundry.domain.returns import OrderReturn
from refundry.domain.status import OrderStatus


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything Refundry stores is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    converted = aware(value)
    assert converted is not None
    return converted


def order_row(order: Order) -> dict[str, Any]:
    # The report columns hold what the order sold (units cancelled before any capture left
    # out), as the summary sums it; ``tax`` is the lines' tax only.
    sold, sold_discount, sold_tax = order.sales
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
        "subtotal": sold.minor,
        "discount": sold_discount.minor,
        "tax": sold_tax.minor,
        "shipping_amount": order.shipping.amount.minor,
        "shipping_tax": order.shipping.tax.minor,
        "payment_method": order.payment.method.value,
        "capture_mode": order.payment.capture_mode.value,
        "authorized": order.payment.authorized.minor,
        "captured": order.payment.captured.minor,
        "authorization_state": order.payment.authorization_state.value,
        "payment_reference": order.payment.reference,
        "authorization_expires_at": order.payment.authorization_expires_at,
        "authorization_flagged_at": order.payment.authorization_flagged_at,
        "authorization_void_answered_at": order.payment.authorization_void_answered_at,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": order.cancelled_at,
        "cancelled_by": order.cancelled_by,
        "points_earned": order.points.earned,
        "points_reversed": order.points.reversed,
        "points_redeemed": order.points.redeemed,
        "points_value": order.payment.points_value.minor,
        "points_restored": order.points.restored,
        "store_credit": order.payment.store_credit_paid.minor,
        "version": order.version,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def line_row(order: Order, position: int, line: OrderLine) -> dict[str, Any]:
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
        **line_counters(line),
    }


def line_counters(line: OrderLine) -> dict[str, int]:
    """A line's columns that change after it is written."""
    return {
        "fulfilled_quantity": line.fulfilled_quantity,
        "cancelled_quantity": line.cancelled_quantity,
        "voided_quantity": line.voided_quantity,
        # The voided units' discount share, for the items report (SQL has no allocator).
        "voided_discount": line.discount.minor - line.sold_discount.minor,
    }


def refund_row(order: Order, refund: Refund) -> dict[str, Any]:
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
        "subtotal": sum(line.subtotal.minor for line in breakdown.lines),
        "discount": sum(line.discount.minor for line in breakdown.lines),
        "shipping": breakdown.shipping.minor,
        "shipping_tax": breakdown.shipping_tax.minor,
        "goodwill": breakdown.goodwill.minor,
        "adjustment": breakdown.adjustment.minor,
        "fees": breakdown.fees.minor,
        "reason": refund.reason,
        "reason_key": reason_key(refund.reason),
        "failure_reason": refund.failure_reason,
        "provider_reference": refund.provider_reference,
        "created_by": refund.created_by,
        "created_at": refund.created_at,
        "completed_at": refund.completed_at,
        "settled_at": settled_at(refund),
        "points_reversed": refund.points_reversed,
        "points_restored": refund.points_restored,
        "points_value": None if refund.points_value is None else refund.points_value.minor,
        "store_credit_value": (
            None if refund.store_credit_value is None else refund.store_credit_value.minor
        ),
    }


def settled_at(refund: Refund) -> datetime | None:
    if refund.status is RefundStatus.COMPLETED:
        return refund.completed_at
    if refund.status is RefundStatus.NOT_REQUESTED:
        return refund.created_at
    return None


def refund_line_row(
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


def order_from_rows(
    row: Mapping[Any, Any],
    currency: Currency,
    line_rows: Sequence[Mapping[Any, Any]],
    refunds: list[Refund],
    link_rows: Sequence[Mapping[Any, Any]],
    returns: list[OrderReturn],
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
                voided_quantity=line["voided_quantity"],
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
            reference=row["payment_reference"],
            authorization_expires_at=aware(row["authorization_expires_at"]),
            authorization_flagged_at=aware(row["authorization_flagged_at"]),
            authorization_void_answered_at=aware(row["authorization_void_answered_at"]),
            redemption=(
                PointsRedemption(row["points_redeemed"], money(row["points_value"]))
                if row["points_redeemed"]
                else None
            ),
            store_credit=money(row["store_credit"]) if row["store_credit"] else None,
        ),
        status=OrderStatus(row["status"]),
        status_label=row["status_label"],
        cancel_reason=row["cancel_reason"],
        cancelled_at=aware(row["cancelled_at"]),
        cancelled_by=row["cancelled_by"],
        refunds=refunds,
        links=[link_from_row(link, currency) for link in link_rows],
        returns=returns,
        points=OrderPoints(
            row["points_earned"],
            row["points_reversed"],
            row["points_redeemed"],
            row["points_restored"],
        ),
        version=row["version"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def order_with_children(
    row: Mapping[Any, Any],
    line_rows: Sequence[Mapping[Any, Any]],
    refund_rows: Sequence[Mapping[Any, Any]],
    refund_line_rows: Mapping[Any, Sequence[Mapping[Any, Any]]],
    history_rows: Mapping[Any, Sequence[Mapping[Any, Any]]],
    link_rows: Sequence[Mapping[Any, Any]],
    returns: list[OrderReturn],
) -> Order:
    """The order from its row and its children's, refund lines and history by refund id
    (its returns are built by ``return_rows``)."""
    currency = Currency.of(row["currency"])
    refunds = [
        refund_from_rows(
            refund_row,
            currency,
            refund_line_rows.get(refund_row["id"], []),
            history_rows.get(refund_row["id"], []),
        )
        for refund_row in refund_rows
    ]
    return order_from_rows(row, currency, line_rows, refunds, link_rows, returns)


def refund_from_rows(
    row: Mapping[Any, Any],
    currency: Currency,
    line_rows: Sequence[Mapping[Any, Any]],
    history_rows: Sequence[Mapping[Any, Any]],
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
            fees=money(row["fees"]),
        ),
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        status=RefundStatus(row["status"]),
        history=[
            RefundStatusChange(RefundStatus(h["status"]), utc(h["at"]), h["detail"])
            for h in history_rows
        ],
        completed_at=aware(row["completed_at"]),
        failure_reason=row["failure_reason"],
        provider_reference=row["provider_reference"],
        points_reversed=row["points_reversed"],
        points_restored=row["points_restored"],
        points_value=None if row["points_value"] is None else money(row["points_value"]),
        store_credit_value=(
            None if row["store_credit_value"] is None else money(row["store_credit_value"])
        ),
    )


def link_row(order: Order, position: int, link: GiftCardLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "merchant_id": order.merchant_id,
        "order_id": order.id,
        "order_line_id": link.order_line_id,
        "position": position,
        "token": link.token,
        "value": link.value.minor,
        "spent": link.spent_amount.minor,
        "expires_at": link.expires_at,
        "created_at": link.created_at,
        "accessed_at": link.accessed_at,
        "cancelled_at": link.cancelled_at,
        "cancel_reason": link.cancel_reason,
        "cancelled_by": link.cancelled_by,
    }


def link_state(link: GiftCardLink) -> tuple[object, ...]:
    """The fields of a link that change after it is issued."""
    return (link.accessed_at, link.spent_amount.minor, link.cancelled_at, link.cancel_reason)


def link_from_row(row: Mapping[Any, Any], currency: Currency) -> GiftCardLink:
    return GiftCardLink(
        id=row["id"],
        order_line_id=row["order_line_id"],
        token=row["token"],
        value=Money(row["value"], currency),
        expires_at=utc(row["expires_at"]),
        created_at=utc(row["created_at"]),
        accessed_at=aware(row["accessed_at"]),
        spent=Money(row["spent"], currency) if row["spent"] else None,
        cancelled_at=aware(row["cancelled_at"]),
        cancel_reason=row["cancel_reason"],
        cancelled_by=row["cancelled_by"],
    )
