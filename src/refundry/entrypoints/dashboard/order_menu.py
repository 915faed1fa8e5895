"""The order page's More options (issue 21): every action the order has, usable or not.

An action that cannot be used now stays in its menu, disabled, with why in plain words
under it, as Shopify's admin keeps an unavailable action in its list: an agent looking
for Refund on a fully refunded order learns why it is not there instead of wondering
where it went. A cancel's reason is the one a refused cancel shows (the domain's blockers,
put in words by ``refusals.in_plain_words``), a refund's the one a refused full refund
shows. Showing an action disabled decides nothing: the server refuses it all the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from refundry.domain.errors import RefundryError
from refundry.domain.gift_card import GiftCardLink
from refundry.domain.order import LineKind, Order, RefundRequest
from refundry.domain.staff import Permission, StaffMember
from refundry.domain.status import OrderStatus
from refundry.entrypoints.dashboard.refusals import Reader, in_plain_words

NOTHING_TO_REFUND = "Nothing is left to refund on this order."
NOTHING_SHIPPED = "Nothing has shipped yet, so there is nothing to return."
ALL_SHIPPED_BACK = "Every shipped unit is refunded or in a return already."
NOT_BY_POST = (
    "Gift-card links and digital goods do not come back by post: cancel or refund them instead."
)
NEEDS_REFUND = "You need the refund permission to {}."
NEEDS_CANCEL = "You need the cancel permission to {}."


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """One action of a More options menu: a page (``href``) or a dialog of the order page
    (``dialog``); ``why_not`` set, it is shown disabled with that reason under it."""

    key: str  # unique on the page: the id of its reason is derived from it
    label: str
    href: str | None = None
    dialog: str | None = None
    why_not: str | None = None


def order_menu(
    order: Order, member: StaffMember, reader: Reader, now: datetime
) -> dict[str, MenuEntry]:
    """The order's More options by key, in their order: Refund, Create return, Cancel
    order (the page's buttons beside the menu are the usable ones of these)."""
    page = f"/dashboard/orders/{order.id}"
    can_refund = member.can(Permission.REFUND)
    blocker = order.cancel_blocker(now)
    entries = (
        MenuEntry(
            "refund",
            "Refund",
            href=f"{page}/refund",
            why_not=(
                NEEDS_REFUND.format("refund orders")
                if not can_refund
                else why_no_refund(order, reader, now)
            ),
        ),
        MenuEntry(
            "create-return",
            "Create return",
            href=f"{page}/returns/new",
            why_not=(
                NEEDS_REFUND.format("create returns") if not can_refund else why_no_return(order)
            ),
        ),
        MenuEntry(
            "cancel-order",
            "Cancel order",
            dialog="cancel-order",
            why_not=_why_no_cancel(blocker, order, member, reader, "cancel orders"),
        ),
    )
    return {entry.key: entry for entry in entries}


def link_cancel(
    order: Order, link: GiftCardLink, member: StaffMember, reader: Reader, now: datetime
) -> MenuEntry:
    """A gift-card link's More options entry: Cancel order item (seed 000)."""
    blocker = link.cancellation_blocker(now)
    return MenuEntry(
        f"cancel-item-{link.id}",
        "Cancel order item",
        dialog=f"cancel-item-{link.id}",
        why_not=_why_no_cancel(blocker, order, member, reader, "cancel order items"),
    )


def _why_no_cancel(
    blocker: RefundryError | None, order: Order, member: StaffMember, reader: Reader, what: str
) -> str | None:
    """What stops the cancel first: the order's state (said as a refused cancel says it),
    else the member's missing permission."""
    if blocker is not None:
        return in_plain_words(blocker, order, reader)
    return None if member.can(Permission.CANCEL) else NEEDS_CANCEL.format(what)


def can_refund_now(order: Order) -> bool:
    """Money was taken and some of it is left to give back (a hold not captured yet is
    released by a cancel, not refunded)."""
    waiting = order.status in (OrderStatus.PENDING, OrderStatus.AUTHORIZED)
    return order.refundable.minor > 0 and not waiting


def why_no_refund(order: Order, reader: Reader, now: datetime) -> str | None:
    """Why Refund cannot be used now, as a refused full refund says it; ``None`` if it can."""
    if can_refund_now(order):
        return None
    try:
        order.preview_refund(RefundRequest.full(), now)
    except RefundryError as refused:
        return in_plain_words(refused, order, reader)
    return NOTHING_TO_REFUND


def why_no_return(order: Order) -> str | None:
    """Why Create return cannot be used now (it takes shipped units not refunded and not
    in another return); ``None`` if it can."""
    physical = [line for line in order.lines if line.kind is LineKind.PHYSICAL]
    if any(order.returnable_quantity(line) > 0 for line in physical):
        return None
    if not physical:
        return NOT_BY_POST
    if not any(line.fulfilled_quantity for line in physical):
        return NOTHING_SHIPPED
    return ALL_SHIPPED_BACK
