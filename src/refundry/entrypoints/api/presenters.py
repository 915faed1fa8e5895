"""Domain objects to response bodies (plain JSON-ready dicts, shaped by ``schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from refundry.domain.errors import RefundryError
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.order import Order
from refundry.domain.refund import Refund
from refundry.entrypoints.api import schemas
from refundry.entrypoints.api.errors import in_a_sentence
from refundry.entrypoints.api.schemas_store_credit import StoreCreditPaymentOut
from refundry.services.clock import utcnow
from refundry.services.handlers.refunds import RefundMade, RefundPreview
from refundry.services.views.documents import breakdown_document, refund_document

JsonBody = dict[str, Any]


def link_model(link: GiftCardLink, now: datetime) -> schemas.LinkOut:
    blocker = link.cancellation_blocker(now)
    return schemas.LinkOut(
        id=link.id,
        url=f"/l/{link.token}",
        value=link.value.minor,
        spent=link.spent_amount.minor,
        state=link.state(now),
        accessed=link.accessed_at is not None,
        accessed_at=link.accessed_at,
        expired=link.is_expired(now),
        expires_at=link.expires_at,
        cancelled_at=link.cancelled_at,
        can_cancel=blocker is None,
        cancel_blocked_because=_because(blocker),
        cancel_blocked_code=_code(blocker),
    )


def order_model(order: Order) -> schemas.OrderOut:
    now = utcnow()
    shipping_refunded, shipping_tax_refunded = order.shipping_refunded()
    order_blocker = order.cancel_blocker(now)
    line_blockers = {line.id: order.item_cancel_blocker(line, now) for line in order.lines}
    return schemas.OrderOut(
        id=order.id,
        external_id=order.external_id,
        order_status=order.status,
        status_label=order.status_label,
        fulfilment_status=order.fulfilment_status,
        currency=order.currency.code,
        customer=schemas.CustomerOut(
            email=order.customer.email, external_id=order.customer.external_id
        ),
        total=order.total.minor,
        captured=order.payment.captured.minor,
        refunded=order.refunded.minor,
        refundable=order.refundable.minor,
        points_earned=order.points.earned,
        points_reversible=order.points.reversible,
        store_credit_refunded=order.store_credit_refunded.minor,
        can_cancel=order_blocker is None,
        cancel_blocked_because=_because(order_blocker),
        cancel_blocked_code=_code(order_blocker),
        lines=[
            schemas.LineOut(
                id=line.id,
                sku=line.sku,
                name=line.name,
                kind=line.kind,
                quantity=line.quantity,
                unit_price=line.unit_price.minor,
                discount=line.discount.minor,
                tax=line.tax.minor,
                total=line.total.minor,
                fulfilled_quantity=line.fulfilled_quantity,
                cancelled_quantity=line.cancelled_quantity,
                refunded_quantity=order.line_refunds(line.id).quantity,
                refundable_quantity=order.refundable_quantity(line, now),
                open_quantity=order.open_quantity(line),
                can_cancel=line_blockers[line.id] is None,
                cancel_blocked_because=_because(line_blockers[line.id]),
                cancel_blocked_code=_code(line_blockers[line.id]),
                links=[link_model(link, now) for link in order.links_of(line.id)],
            )
            for line in order.lines
        ],
        shipping=schemas.ShippingOut(
            amount=order.shipping.amount.minor,
            tax=order.shipping.tax.minor,
            refunded=shipping_refunded.minor,
            refunded_tax=shipping_tax_refunded.minor,
            refundable=(order.shipping.amount - shipping_refunded).minor,
        ),
        payment=schemas.PaymentOut(
            method=order.payment.method,
            capture=order.payment.capture_mode,
            authorized=order.payment.authorized.minor,
            captured=order.payment.captured.minor,
            authorization_state=order.payment.authorization_state,
            reference=order.payment.reference,
            authorization_expires_at=order.payment.authorization_expires_at,
            authorization_flagged_at=order.payment.authorization_flagged_at,
            authorization_void_answered_at=order.payment.authorization_void_answered_at,
            points=(
                None
                if order.payment.redemption is None
                else schemas.PointsPaymentOut(
                    redeemed=order.points.redeemed,
                    value=order.payment.redemption.value.minor,
                    restored=order.points.restored,
                    restorable=order.points.restorable,
                )
            ),
            store_credit=(
                None
                if order.payment.store_credit is None
                else StoreCreditPaymentOut(
                    amount=order.payment.store_credit.minor,
                    refunded=min(order.store_credit_refunded, order.payment.store_credit).minor,
                    returnable=order.store_credit_returnable.minor,
                )
            ),
        ),
        cancel_reason=order.cancel_reason,
        cancelled_at=order.cancelled_at,
        version=order.version,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def _because(blocker: RefundryError | None) -> str | None:
    return None if blocker is None else in_a_sentence(blocker)


def _code(blocker: RefundryError | None) -> str | None:
    """What a cancel now would be refused with: the problem's ``condition`` (a link's or
    the order's state) when it names one, else its type."""
    if blocker is None:
        return None
    return str(blocker.extensions.get("condition", blocker.code))


def present_order(order: Order) -> JsonBody:
    return order_model(order).model_dump(mode="json")


def present_orders(orders: list[Order], *, limit: int, offset: int) -> JsonBody:
    return schemas.OrderListOut(
        data=[order_model(order) for order in orders], limit=limit, offset=offset
    ).model_dump(mode="json")


def present_refund(order: Order, refund: Refund) -> JsonBody:
    return schemas.RefundOut(**refund_document(order, refund)).model_dump(mode="json")


def present_refunds(order: Order) -> JsonBody:
    return schemas.RefundListOut(
        data=[schemas.RefundOut(**refund_document(order, refund)) for refund in order.refunds]
    ).model_dump(mode="json")


def present_refund_made(made: RefundMade) -> JsonBody:
    return schemas.RefundCreatedOut(
        **refund_document(made.order, made.refund), order=order_model(made.order)
    ).model_dump(mode="json")


def present_preview(preview: RefundPreview) -> JsonBody:
    refundable = preview.order.refundable
    amount = preview.breakdown.total
    points_value, points_move = preview.order.preview_points(amount)
    store_credit = preview.order.store_credit_part(amount, preview.method)
    money = amount
    for part in (points_value, store_credit):
        money = money if part is None else money - part
    return schemas.RefundPreviewOut(
        **breakdown_document(preview.order, preview.breakdown),
        order_id=preview.order.id,
        method=preview.method,
        refundable_before=refundable.minor,
        refundable_after=(refundable - amount).minor,
        money_amount=money.minor,
        points_value=None if points_value is None else points_value.minor,
        store_credit_value=None if store_credit is None else store_credit.minor,
        points_to_restore=points_move.restored,
        points_to_reverse=points_move.reversed,
        quote=preview.quote.token,
        quote_expires_at=preview.quote.expires_at,
    ).model_dump(mode="json")
