"""Refunding part of an order by line, with and without restock (``handlers.refunds``)."""

from __future__ import annotations

import copy
import uuid

import pytest

from refundry.domain.errors import RefundExceedsRefundable, RefundQuantityExceeded, RefundryError
from refundry.domain.order import LineRefundRequest, Order, RefundRequest
from refundry.domain.refund import RefundStatus
from refundry.domain.status import OrderStatus
from refundry.services.clock import utcnow
from refundry.services.handlers.orders import fulfil_order
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.refunds import RefundMade, preview_refund, refund_order
from refundry.services.ports.outbox import Topic
from refundry.services.transactions import run
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given
from tests.unit.handlers.given import MUG, TEAPOT

SIGNER = QuoteSigner(b"handler-tests")


def _shipped_order(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID) -> Order:
    given.stock_levels(uow_factory, merchant_id, {MUG: 10, TEAPOT: 5})
    order = given.an_order(uow_factory, merchant_id)
    return run(uow_factory, lambda uow: fulfil_order(uow, merchant_id, order.id, None))


def _refund(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    order: Order,
    request: RefundRequest,
    quote: str | None = None,
) -> RefundMade:
    return run(
        uow_factory,
        lambda uow: refund_order(
            uow,
            SIGNER,
            merchant_id,
            order.id,
            request,
            method=None,
            reason="Arrived chipped",
            quote=quote,
            actor="support",
        ),
    )


@pytest.mark.parametrize(("restock", "mugs_on_the_shelf"), [(True, 9), (False, 8)])
def test_a_refund_of_one_shipped_mug_gives_back_its_exact_share_and_restocks_only_if_asked(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    restock: bool,
    mugs_on_the_shelf: int,
) -> None:
    # given a shipped order: 2 mugs at 12.90 with 2.58 off the line and 4.64 tax on it
    order = _shipped_order(uow_factory, merchant_id)
    mug_line = given.line_of(order, MUG)
    request = RefundRequest(lines=(LineRefundRequest(mug_line, 1, restock=restock),))
    expected = uow_factory.store.orders[order.id].preview_refund(request, utcnow())

    # when support reviews the refund, then makes exactly what was reviewed
    preview = run(
        uow_factory, lambda uow: preview_refund(uow, SIGNER, merchant_id, order.id, request, None)
    )
    made = _refund(uow_factory, merchant_id, order, request, quote=preview.quote.token)

    # then the refund is the mug's exact share: half the discount and half the tax
    [line] = made.refund.breakdown.lines
    assert (line.subtotal.minor, line.discount.minor, line.tax.minor) == (1290, 129, 232)
    assert made.refund.amount.minor == 1290 - 129 + 232
    assert made.refund.breakdown == preview.breakdown == expected
    # and it waits for the provider, with a message for the worker
    store = uow_factory.store
    refunded = store.orders[order.id]
    assert refunded.status is OrderStatus.PARTIALLY_REFUNDED
    assert refunded.refund_by_id(made.refund.id).status is RefundStatus.STARTED
    [message] = store.outbox_messages()
    assert (message.topic, message.payload) == (
        Topic.PROVIDER_REFUND,
        {"refund_id": str(made.refund.id)},
    )
    # and the mug is back on the shelf only when the refund said so
    assert store.on_hand(merchant_id, MUG) == mugs_on_the_shelf
    assert store.on_hand(merchant_id, TEAPOT) == 4


@pytest.mark.parametrize(
    ("too_much", "error"),
    [
        pytest.param({"amount": 9000}, RefundExceedsRefundable, id="more money than is left"),
        pytest.param({"quantity": 2}, RefundQuantityExceeded, id="more mugs than are left"),
    ],
)
def test_a_refund_over_what_is_left_is_refused_and_changes_nothing(
    uow_factory: FakeUnitOfWorkFactory,
    merchant_id: uuid.UUID,
    too_much: dict[str, int],
    error: type[RefundryError],
) -> None:
    # given a shipped order with one mug refunded already (8569 of 9962 left)
    order = _shipped_order(uow_factory, merchant_id)
    mug_line = given.line_of(order, MUG)
    one_mug = RefundRequest(lines=(LineRefundRequest(mug_line, 1, restock=True),))
    _refund(uow_factory, merchant_id, order, one_mug)
    before = copy.deepcopy(uow_factory.store)

    # when a refund asks for more than that, with restock
    request = RefundRequest(
        lines=(LineRefundRequest(mug_line, too_much.get("quantity", 1), restock=True),),
        amount=too_much.get("amount"),
    )
    with pytest.raises(error):
        _refund(uow_factory, merchant_id, order, request)

    # then nothing was written: no refund, no outbox message, no stock moved
    assert uow_factory.store == before
    assert len(uow_factory.store.orders[order.id].refunds) == 1
    assert len(uow_factory.store.outbox_messages()) == 1
    assert uow_factory.store.on_hand(merchant_id, MUG) == 9
