"""A float-paid order's cancelled gift-card link is credited to the merchant's float when
the invoice cycle closes (``handlers.merchant_float``)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.money import Currency, Money
from refundry.domain.order import LineKind, NewLine, PaymentMethod
from refundry.domain.refund import RefundMethod, RefundStatus
from refundry.services.clock import utcnow
from refundry.services.handlers import merchant_float
from refundry.services.handlers.cancellation import cancel_item
from refundry.services.transactions import read, run
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given

EUR = Currency.of("EUR")
GIFT_CARDS = NewLine("GIFT-25", "Gift card, 25 euros", LineKind.GIFT_CARD_LINK, 2, 2500)


def _balance(uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID) -> Money:
    summary = read(uow_factory, lambda uow: merchant_float.float_summary(uow, merchant_id))
    return summary.account.balance


def test_a_cancelled_gift_card_link_of_a_float_paid_order_is_credited_when_the_cycle_closes(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given a daily float topped up with 1000.00, and two 25.00 links paid from it
    run(
        uow_factory,
        lambda uow: merchant_float.open_float(uow, merchant_id, "EUR", InvoiceCycle.DAILY),
    )
    run(uow_factory, lambda uow: merchant_float.top_up_float(uow, merchant_id, 100_000))
    order = given.an_order(
        uow_factory,
        merchant_id,
        [GIFT_CARDS],
        shipping=(0, 0),
        payment_method=PaymentMethod.FLOAT,
    )
    assert _balance(uow_factory, merchant_id) == Money(95_000, EUR)

    # when one link is cancelled
    link = order.links[0]
    run(
        uow_factory,
        lambda uow: cancel_item(uow, merchant_id, order.id, link.id, reason=None, actor="ana"),
    )

    # then its value waits as a float refund: nothing for a provider, the float unchanged
    store = uow_factory.store
    [refund] = store.orders[order.id].refunds
    assert (refund.method, refund.status) == (RefundMethod.FLOAT, RefundStatus.STARTED)
    assert refund.amount == Money(2500, EUR)
    assert store.outbox_messages() == []
    assert _balance(uow_factory, merchant_id) == Money(95_000, EUR)

    # when the day's cycle closes
    tomorrow = utcnow() + timedelta(days=1)
    [invoice] = run(
        uow_factory,
        lambda uow: merchant_float.close_due_cycles(uow, merchant_id, tomorrow),
    )

    # then the float is credited with the link's value and the refund is complete
    assert [(credit.refund_id, credit.amount) for credit in invoice.credited] == [
        (refund.id, Money(2500, EUR))
    ]
    assert (invoice.top_ups, invoice.charges, invoice.credits) == (
        Money(100_000, EUR),
        Money(5000, EUR),
        Money(2500, EUR),
    )
    assert invoice.closing_balance == Money(97_500, EUR)
    assert _balance(uow_factory, merchant_id) == Money(97_500, EUR)
    assert store.orders[order.id].refund_by_id(refund.id).status is RefundStatus.COMPLETED

    # and closing again credits nothing twice
    assert (
        run(uow_factory, lambda uow: merchant_float.close_due_cycles(uow, merchant_id, tomorrow))
        == []
    )
    assert _balance(uow_factory, merchant_id) == Money(97_500, EUR)
