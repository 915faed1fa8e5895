"""Who did something, as a person reads it: the one resolver of every page and export that
names an actor (the dashboard's timeline, refunds and returns; the refunds report's CSV),
from how the ledger names them (``staff:<id>``, ``api_key:<id hex>``, ``provider``,
``system:<job>``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from refundry.bootstrap import Container
from refundry.domain.order import Order, PaymentMethod
from refundry.domain.staff import StaffMember
from refundry.services import transactions


@dataclass(frozen=True, slots=True)
class Actors:
    team: Mapping[str, str]  # a member's id -> their e-mail
    provider: str = "The payment provider"

    @classmethod
    def of(cls, order: Order, members: list[StaffMember], card_provider: str) -> Actors:
        return cls.paid_by(members, order.payment.method, card_provider)

    @classmethod
    def paid_by(
        cls, members: list[StaffMember], method: PaymentMethod, card_provider: str
    ) -> Actors:
        """For an order paid by ``method``, whose provider is the one that acts on it."""
        team = {str(member.id): member.email for member in members}
        return cls(team, provider_name(method, card_provider))

    def name(self, actor: str | None) -> str:
        if not actor:
            return "Not recorded"  # cancellations made before Refundry kept who did them
        kind, _, identifier = actor.partition(":")
        if kind == "staff":
            return self.team.get(identifier, "A former team member")
        if kind == "api_key":
            # The key's id is part of the key (rfk_<id>_<secret>); its last 4 tell keys apart.
            return f"API key …{identifier[-4:]}"
        if kind == "provider":
            return self.provider
        if kind == "system":
            return "Refundry"
        if kind in ("seed", "demo"):  # `refundry seed`, `refundry demo`
            return "Demo data"
        return actor


def provider_name(method: PaymentMethod, card_provider: str) -> str:
    """The provider that holds an order's money, by the name an agent knows it by."""
    if method is PaymentMethod.KLARNA:
        return "Klarna"
    if method is PaymentMethod.CARD:
        return "Stripe" if card_provider == "stripe" else "The sandbox card provider"
    return "The payment provider"


def merchant_actors(container: Container, merchant_id: uuid.UUID) -> dict[str, Actors]:
    """The merchant's actors by the payment method of the order they acted on (the method
    names the provider), for a report whose rows span many orders."""
    members = transactions.read(container.uow_factory, lambda uow: uow.staff.members(merchant_id))
    card_provider = container.settings.card_provider
    return {
        method.value: Actors.paid_by(members, method, card_provider) for method in PaymentMethod
    }
