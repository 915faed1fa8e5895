"""The order transition table, walked pair by pair against an independent statement of it."""

from __future__ import annotations

import itertools

import pytest

from refundry.domain.status import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    OrderStatus,
    can_transition,
    mermaid_diagram,
)

S = OrderStatus
# Written out by hand from the issue: pending -> authorized -> paid; cancelled is terminal;
# partially/fully_refunded follow the ledger (a failed refund moves back); auto_refunded is
# a terminal, refund-class state reached from a settled order.
EXPECTED = {
    (S.PENDING, S.AUTHORIZED),
    (S.PENDING, S.PAID),
    (S.PENDING, S.CANCELLED),
    (S.AUTHORIZED, S.PAID),
    (S.AUTHORIZED, S.CANCELLED),
    (S.PAID, S.PARTIALLY_REFUNDED),
    (S.PAID, S.FULLY_REFUNDED),
    (S.PAID, S.CANCELLED),
    (S.PAID, S.AUTO_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.PAID),
    (S.PARTIALLY_REFUNDED, S.FULLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.CANCELLED),
    (S.PARTIALLY_REFUNDED, S.AUTO_REFUNDED),
    (S.FULLY_REFUNDED, S.PAID),
    (S.FULLY_REFUNDED, S.PARTIALLY_REFUNDED),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_is_allowed_exactly_when_the_issue_says(
    source: OrderStatus, target: OrderStatus
) -> None:
    assert can_transition(source, target) is ((source, target) in EXPECTED)


def test_cancelled_and_auto_refunded_are_terminal() -> None:
    assert {S.CANCELLED, S.AUTO_REFUNDED} == TERMINAL_STATUSES
    assert all(not ALLOWED_TRANSITIONS[status] for status in TERMINAL_STATUSES)


def test_no_status_moves_to_itself() -> None:
    assert all(not can_transition(status, status) for status in S)


def test_the_diagram_has_one_edge_per_allowed_pair() -> None:
    edges = {
        tuple(line.strip().split(" --> "))
        for line in mermaid_diagram().splitlines()
        if "-->" in line and "[*]" not in line
    }
    assert edges == {(source.value, target.value) for source, target in EXPECTED}
