"""Loyalty points: earned at capture, reversed in proportion by a refund (``handlers.points``)."""

from __future__ import annotations

import uuid

from refundry.domain.order import (
    CaptureMode,
    LineKind,
    NewLine,
)
from refundry.domain.points import PointsEntryKind, PointsProgram
from refundry.services.handlers.orders import capture_order
from refundry.services.transactions import read, run
from tests.unit.fakes import FakeUnitOfWorkFactory
from tests.unit.handlers import given

# 3 tins at 33.30 with 9.90 off the line: 90.00 paid, which earns 900 points at 10 a euro.
TINS = NewLine("TIN-SENCHA", "Sencha tin", LineKind.PHYSICAL, 3, 3330, discount=990)


def _ledger(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> list[tuple[PointsEntryKind, int]]:
    customer = given.CUSTOMER.email
    entries = read(uow_factory, lambda uow: uow.points.entries(merchant_id, customer, 100))
    balance = read(uow_factory, lambda uow: uow.points.balance(merchant_id, customer))
    assert balance == sum(entry.points for entry in entries)
    return [(entry.kind, entry.points) for entry in reversed(entries)]


def test_points_are_awarded_at_capture_and_a_partial_refund_reverses_its_share(
    uow_factory: FakeUnitOfWorkFactory, merchant_id: uuid.UUID
) -> None:
    # given a program of 10 points a euro, and an order held for manual capture
    given.a_points_program(uow_factory, merchant_id, PointsProgram(points_per_unit=10))
    order = given.an_order(
        uow_factory, merchant_id, [TINS], shipping=(0, 0), capture_mode=CaptureMode.MANUAL
    )
    assert _ledger(uow_factory, merchant_id) == []  # nothing is earned on a hold

    # when it is captured
    run(uow_factory, lambda uow: capture_order(uow, merchant_id, order.id, None))

    # then the customer earns on what was paid
    assert _ledger(uow_factory, merchant_id) == [(PointsEntryKind.EARNED, 900)]

    # when one tin of three is refunded (30.00 of 90.00)
    made = given.a_refund_of(uow_factory, merchant_id, order, "TIN-SENCHA")

    # then a third of the points is taken back, and the refund records it
    assert made.refund.amount.minor == 3000
    assert _ledger(uow_factory, merchant_id) == [
        (PointsEntryKind.EARNED, 900),
        (PointsEntryKind.REVERSED, -300),
    ]
    assert uow_factory.store.points_balance(merchant_id, given.CUSTOMER.email) == 600
    assert uow_factory.store.orders[order.id].refund_by_id(made.refund.id).points_reversed == 300
