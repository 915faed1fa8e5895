"""A merchant's statuses after cancellation (seed 001, step 4): ``cancelled`` and its own
labels, checked when set and when a cancel names one (``domain/merchant.py``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from refundry.domain.errors import InvalidCancelLabels, UnknownCancelLabel
from refundry.domain.merchant import Merchant, checked_cancel_labels

SHOP = Merchant(
    uuid.uuid4(), "Shop", datetime(2026, 5, 1, tzinfo=UTC), cancel_labels=("Refused", "Sold out")
)


def test_no_label_or_a_blank_one_is_cancelled() -> None:
    assert SHOP.cancel_label(None) == SHOP.cancel_label("  \t") == "cancelled"


def test_a_label_is_matched_ignoring_case_and_spaces_and_kept_in_the_merchants_spelling() -> None:
    assert SHOP.cancel_label(" sold OUT ") == "Sold out"
    assert SHOP.cancel_label("CANCELLED") == "cancelled"


@pytest.mark.parametrize("label", ["paid", "Canceled", "fraud", "Sold-out"])
def test_a_label_off_the_list_is_refused_naming_the_allowed_ones(label: str) -> None:
    with pytest.raises(UnknownCancelLabel) as refused:
        SHOP.cancel_label(label)
    assert "cancelled, Refused, Sold out" in refused.value.detail
    assert refused.value.extensions["allowed"] == ["cancelled", "Refused", "Sold out"]


def test_labels_are_trimmed_and_kept_in_order() -> None:
    assert checked_cancel_labels([" Sold out ", "Refused", "x" * 64]) == (
        "Sold out", "Refused", "x" * 64,
    )  # fmt: skip
    assert checked_cancel_labels([]) == ()


@pytest.mark.parametrize(
    "labels",
    [
        [" "],
        ["x" * 65],
        ["a\x07b"],
        ["a\u202eb"],  # a bidi override would make the label read otherwise
        ["Refused", "REFUSED "],
        ["Paid"],
        ["fully refunded"],
        ["Canceled"],
        [f"label {n}" for n in range(21)],
    ],
)
def test_labels_that_cannot_be_kept_are_refused(labels: list[str]) -> None:
    with pytest.raises(InvalidCancelLabels):
        checked_cancel_labels(labels)
