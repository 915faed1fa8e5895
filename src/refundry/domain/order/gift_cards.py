"""The order's gift-card links: finding them, the consumer opening and spending them, and
which can still be refunded or cancelled.

A link is one unit of a ``gift_card_link`` line (``refundry.domain.gift_card`` holds the
link itself). Its value is with the consumer once it is opened, expired or spent, so only
the others can be refunded or cancelled.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from refundry.domain.errors import LinkNotFound
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.money import Money
from refundry.domain.order.lines import LineKind
from refundry.domain.order.root import OrderRoot
from refundry.domain.refund import Refund


def link(order: OrderRoot, link_id: uuid.UUID) -> GiftCardLink:
    for each in order.links:
        if each.id == link_id:
            return each
    raise LinkNotFound(f"order {order.id} has no link {link_id}", link_id=str(link_id))


def open_link(order: OrderRoot, link_id: uuid.UUID, now: datetime) -> GiftCardLink:
    opened = link(order, link_id)
    first_time = opened.accessed_at is None
    opened.open(now)
    if first_time:
        order._touch(now)
    return opened


def spend_link(order: OrderRoot, link_id: uuid.UUID, amount: Money, now: datetime) -> GiftCardLink:
    spent = link(order, link_id)
    spent.spend(amount, now)
    order._touch(now)
    return spent


def cancel_refunded_links(order: OrderRoot, refund: Refund, reason: str, now: datetime) -> None:
    """Refunded gift-card link units cancel that many links that could still be
    cancelled, so a link whose value was given back can never be opened or spent."""
    for refund_line in refund.breakdown.lines:
        line = order.line(refund_line.order_line_id)
        if line.kind is LineKind.GIFT_CARD_LINK:
            for each in order.refundable_links(line, now)[: refund_line.quantity]:
                each.cancel(reason, now, by=refund.created_by)
