"""A merchant: the tenant every order, key, float and setting belongs to.

Its cancellation status labels (seed 001: "Select the order status after cancellation (by
default, Canceled)") are a fixed list: ``cancelled`` and the merchant's own labels. A label
is never one of the order statuses (``paid``, ``cancelled``, ...), so a cancelled order can
never be shown as one it is not in.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from refundry.domain.errors import InvalidCancelLabels, UnknownCancelLabel
from refundry.domain.order import DEFAULT_CANCEL_LABEL, AuthorizationExpiryAction
from refundry.domain.status import OrderStatus

MAX_CANCEL_LABELS = 20
MAX_CANCEL_LABEL_LENGTH = 64
# Control characters, invisible format characters (bidi overrides) and line breaks.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _key(label: str) -> str:
    """A label as compared with the order statuses: neither case nor the dashboard's way of
    showing ``fully_refunded`` as "fully refunded" tells them apart."""
    return "_".join(label.replace("-", " ").replace("_", " ").casefold().split())


# Every order status, and "Canceled", the dashboard's name for the default label.
_RESERVED = frozenset({_key(status.value) for status in OrderStatus} | {_key("canceled")})


@dataclass(frozen=True, slots=True)
class Merchant:
    id: uuid.UUID
    name: str
    created_at: datetime
    timezone: str = "UTC"
    authorization_expiry_action: AuthorizationExpiryAction = AuthorizationExpiryAction.FLAG
    automatic_capture: bool = True  # else orders are held and captured on fulfilment
    cancel_labels: tuple[str, ...] = ()  # its own statuses after cancellation, besides cancelled
    store_credit_validity_days: int | None = None  # how long store credit lasts (None: ever)

    @property
    def allowed_cancel_labels(self) -> tuple[str, ...]:
        return (DEFAULT_CANCEL_LABEL, *self.cancel_labels)

    def cancel_label(self, requested: str | None) -> str:
        """The status label a cancel keeps: ``cancelled`` when none is asked for, else the
        allowed label it names (ignoring case and surrounding spaces), in its own spelling."""
        wanted = (requested or "").strip()
        if not wanted:
            return DEFAULT_CANCEL_LABEL
        for label in self.allowed_cancel_labels:
            if label.casefold() == wanted.casefold():
                return label
        allowed = self.allowed_cancel_labels
        raise UnknownCancelLabel(
            f"The status {wanted!r} is not one of this merchant's statuses after cancellation. "
            f"Choose one of: {', '.join(allowed)} (or leave it blank for {DEFAULT_CANCEL_LABEL}).",
            allowed=list(allowed),
        )


def checked_cancel_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """A merchant's own cancellation labels, trimmed, in the order given; or
    ``InvalidCancelLabels`` naming the first that cannot be kept."""
    given = list(labels)
    if len(given) > MAX_CANCEL_LABELS:
        raise InvalidCancelLabels(
            f"{len(given)} cancel labels given; a merchant has at most {MAX_CANCEL_LABELS}"
        )
    checked: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(given):
        label = raw.strip()
        problem = _label_problem(label, seen)
        if problem is not None:
            raise InvalidCancelLabels(
                f"cancel label {position + 1} ({raw!r}) {problem}", index=position
            )
        seen.add(label.casefold())
        checked.append(label)
    return tuple(checked)


def _label_problem(label: str, seen: set[str]) -> str | None:
    if not label:
        return "is blank"
    if len(label) > MAX_CANCEL_LABEL_LENGTH:
        return f"is longer than {MAX_CANCEL_LABEL_LENGTH} characters"
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in label):
        return "contains a control character"
    if _key(label) in _RESERVED:
        return "is an order status (or Canceled, the default label); choose a label of your own"
    if label.casefold() in seen:
        return "repeats an earlier label (labels are compared ignoring case)"
    return None
