"""Model-based test: random sequences of order, refund, provider, points, float and
reconciliation actions on a real database, each checked against a plain-Python model.

Every step runs through the services and the unit of work (the API's own code path),
the card gateway is the sandbox as a real process, and the worker's outbox is drained
in-process (``settle``). After every step the whole observable state is compared with
``order_model_reference``: orders, refunds, lines, links, statuses, versions, the points
ledger, the float, stock, the gateway's payment intents and the reconciliation report. An
action the model calls illegal must raise the typed error it names and change nothing.

Short by default (CI); ``REFUNDRY_LONG_TESTS=1`` runs many more and longer sequences.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings
from refundry.domain import order as domain
from refundry.domain.errors import (
    LinkAlreadyCancelled,
    OrderNotFulfillable,
    QuoteMismatch,
    QuoteStale,
)
from refundry.domain.merchant_float import InvoiceCycle
from refundry.domain.money import Currency, Money
from refundry.domain.order import (
    CaptureMode,
    Customer,
    LineKind,
    LineRefundRequest,
    NewLine,
    PaymentMethod,
    RefundRequest,
)
from refundry.domain.points import PointsProgram, PointsRounding, ShortfallPolicy
from refundry.domain.reconciliation import DiscrepancyKind, ExpectedRecord
from refundry.domain.refund import RefundMethod
from refundry.services import transactions
from refundry.services.handlers import (
    cancellation,
    merchant_float,
    orders,
    points,
    reconciliation,
    refunds,
)
from refundry.services.handlers.merchants import NewMerchant, create_merchant
from tests.conftest import sandbox_psp_server, settle
from tests.integration import order_model_reference as model
from tests.integration.order_model_reference import Rejected, Request, Shop

T = TypeVar("T")


LONG = os.environ.get("REFUNDRY_LONG_TESTS") == "1"
EXAMPLES, STEPS = (1000, 50) if LONG else (12, 25)
# A run of a chosen size (a long run cut to the time there is): REFUNDRY_MODEL_EXAMPLES=200.
EXAMPLES = int(os.environ.get("REFUNDRY_MODEL_EXAMPLES", EXAMPLES))

EUR = Currency.of("EUR")
CUSTOMER = Customer("model@example.com", "cust-model")
CUSTOMER_KEY = "cust-model"
FIRST_TOP_UP = 30_000
MAX_ORDERS = 4
SKUS = ("SKU-A", "SKU-B", "SKU-C")
# Records cover every order from here on (their occurred_at): orders are all later.
RECORDS_FROM = datetime(2000, 1, 1, tzinfo=UTC)
SANDBOX_AUTH = {"Authorization": "Bearer sk_test_checkout"}  # any key will do there
# Card and held (manual) orders twice: they are the ones with a gateway behind them.
ORDER_KINDS = (
    "card",
    "manual",
    "pending",
    "card",
    "manual",
    "other",
    "redeem_card",
    "redeem_other",
    "points",
    "float",
)
LINE_KINDS = {
    model.PHYSICAL: LineKind.PHYSICAL,
    model.DIGITAL: LineKind.DIGITAL,
    model.GIFT: LineKind.GIFT_CARD_LINK,
}


@dataclass(frozen=True)
class System:
    container: Container
    # The sandbox gateway of this test alone (its faults touch nobody else); one client,
    # as a fresh one per call costs more than the call.
    psp: httpx.Client

    def faults(self, **faults: int) -> None:
        self.psp.post("/_sandbox/faults", json=faults).raise_for_status()

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.psp.get("/_sandbox/state").json()
        return state

    def pay(self, amount: int, *, manual: bool) -> str:
        """What a checkout does before Refundry hears of the order: pay (or hold) it."""
        intent = self.psp.post(
            "/v1/payment_intents",
            data={
                "amount": amount,
                "currency": "eur",
                "capture_method": "manual" if manual else "automatic",
            },
            headers=SANDBOX_AUTH,
        ).json()
        reference: str = intent["id"]
        return reference


@dataclass(frozen=True)
class LineShape:
    kind: str
    sku: str
    quantity: int
    unit_price: int
    discount: int
    tax: int


@dataclass(frozen=True)
class OrderShape:
    kind: str
    lines: tuple[LineShape, ...]
    shipping: int
    shipping_tax: int
    paid_percent: int  # of the total authorized or captured, when not all of it
    points_percent: int  # redeem_card / redeem_other: the share of the total they pay


@st.composite
def order_shapes(draw: st.DrawFn, kinds: tuple[str, ...] = ORDER_KINDS) -> OrderShape:
    kind = draw(st.sampled_from(kinds))
    lines = []
    for index in range(draw(st.integers(1, 3))):
        line_kind = (
            model.GIFT
            if kind == "float"
            else draw(st.sampled_from([model.PHYSICAL, model.PHYSICAL, model.DIGITAL, model.GIFT]))
        )
        quantity = draw(st.integers(1, 3))
        # The first line costs something, so no order is free; later ones may be free.
        price = draw(st.integers(100 if index == 0 else 0, 5000))
        untaxed = kind == "float"  # B2B gift cards carry neither discount nor tax
        discount = 0 if untaxed else draw(st.integers(0, price * quantity // 2))
        tax = 0 if untaxed else draw(st.integers(0, 1500))
        sku = draw(st.sampled_from(SKUS)) if line_kind == model.PHYSICAL else f"{line_kind}-{index}"
        lines.append(LineShape(line_kind, sku, quantity, price, discount, tax))
    shipping = 0 if kind == "float" else draw(st.sampled_from([0, 0, 490, 995]))
    shipping_tax = draw(st.integers(0, 200)) if shipping else 0
    return OrderShape(
        kind=kind,
        lines=tuple(lines),
        shipping=shipping,
        shipping_tax=shipping_tax,
        paid_percent=draw(st.sampled_from([100, 100, 100, 30, 75])),
        points_percent=draw(st.integers(1, 99)),
    )


def refundable(order: model.Order) -> bool:
    return order.refundable > 0 and order.status != model.FULLY_REFUNDED


def cancellable(order: model.Order) -> bool:
    unshipped = not any(line.fulfilled for line in order.lines)
    return unshipped and order.status not in (*model.TERMINAL, model.FULLY_REFUNDED)


def shippable(order: model.Order) -> bool:
    return order.status not in (model.PENDING, *model.TERMINAL) and any(
        order.open_quantity(index) > 0 for index in range(len(order.lines))
    )


def provider_work(order: model.Order) -> bool:
    waiting = any(refund.via_gateway and refund.pending for refund in order.refunds)
    return waiting or order.auth_state == "void_pending"


def float_credit(order: model.Order) -> bool:
    return any(refund.method == "float" and refund.pending for refund in order.refunds)


def live_links(order: model.Order) -> bool:
    return any(link.cancellable for link in order.links)


def item_cancellable(order: model.Order) -> bool:
    units = any(
        line.kind != model.GIFT and not line.fulfilled and order.open_quantity(index) > 0
        for index, line in enumerate(order.lines)
    )
    return not order.terminal and (units or live_links(order))


def digest(breakdown: model.Breakdown, method: str) -> tuple[Any, ...]:
    """What a quote binds (and what a preview shows), as comparable values."""
    return (
        method,
        tuple(
            (
                line.line,
                line.quantity,
                line.unfulfilled,
                line.restocked,
                line.subtotal,
                line.discount,
                line.tax,
            )
            for line in breakdown.lines
        ),
        breakdown.shipping,
        breakdown.shipping_tax,
        breakdown.goodwill,
        breakdown.adjustment,
        breakdown.total,
    )


class OrderModel(RuleBasedStateMachine):
    def __init__(self, system: System) -> None:
        super().__init__()
        self.system = system
        self.container = system.container
        self.shop: Shop
        self.merchant_id: uuid.UUID
        self.clock = datetime.now(UTC)  # invoice closes run ahead of it, a day at a time
        self.line_ids: list[list[uuid.UUID]] = []
        self.link_ids: list[list[tuple[uuid.UUID, str]]] = []  # (id, token)
        self.seen: dict[int, tuple[int, int]] = {}  # order -> (model changes, version)
        self.quote: tuple[int, Request, str | None, str, int, tuple[Any, ...]] | None = None
        self.records = 0

    # ------------------------------------------------------------ plumbing
    def run(self, use_case: Callable[[Any], T]) -> T:
        return transactions.run(self.container.uow_factory, use_case)

    def act(self, model_step: Callable[[Shop], object], system_step: Callable[[], T]) -> T | None:
        """Run a step on a copy of the model; an illegal step must be refused by the
        system with the error the model names, and change nothing (the invariants and
        the versions then prove it)."""
        trial = copy.deepcopy(self.shop)
        verdict: Rejected | None = None
        try:
            model_step(trial)
        except Rejected as rejected:
            verdict = rejected
        if verdict is None:
            result = system_step()
            self.shop = trial
            return result
        event(f"refused: {verdict.error.__name__}")
        with pytest.raises(verdict.error) as refused:
            system_step()
        # The very error: its parent class would hide a wrong reason (already cancelled
        # or fulfilled, say, are both "not cancellable").
        assert type(refused.value) is verdict.error, refused.value
        return None

    def pick(self, data: st.DataObject, likely: Callable[[model.Order], bool]) -> int:
        """An order, most often one the action is legal on (illegal ones are drawn too,
        but a run spent on refusals tests little else)."""
        candidates = [i for i, order in enumerate(self.shop.orders) if likely(order)]
        if candidates and data.draw(st.integers(0, 4), label="likely") < 4:
            return data.draw(st.sampled_from(candidates), label="order")
        return data.draw(st.integers(0, len(self.shop.orders) - 1), label="order")

    def order_id(self, index: int) -> uuid.UUID:
        order_id = self.shop.orders[index].id
        assert order_id is not None
        return order_id

    def system_refund(
        self, index: int, request: Request, method: str | None, reason: str, *, quote: str | None
    ) -> Any:
        """The refund use case, in a transaction of its own, as the API would call it."""
        return self.run(
            lambda uow: refunds.refund_order(
                uow,
                self.container.quotes,
                self.merchant_id,
                self.order_id(index),
                self.system_request(index, request),
                method=None if method is None else RefundMethod(method),
                reason=reason,
                quote=quote,
                actor="model",
            )
        )

    def draw_request(self, data: st.DataObject, index: int) -> Request:
        order = self.shop.orders[index]
        shape = data.draw(
            # The first is drawn most: a full refund first would end most runs' refunds.
            st.sampled_from(
                ["lines", "amount", "everything", "lines", "shipping", "mixed", "empty", "twice"]
            ),
            label="request",
        )
        if shape == "everything":
            return Request(everything=True, restock_all=data.draw(st.booleans(), label="restock"))
        if shape == "empty":
            return Request()
        lines: tuple[tuple[int, int, bool], ...] = ()
        if shape in ("lines", "mixed", "twice"):
            count = len(order.lines)
            chosen = data.draw(
                st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True),
                label="lines",
            )
            if shape == "twice":
                chosen.append(chosen[0])  # a line listed twice is refused
            lines = tuple(
                (
                    line,
                    data.draw(st.integers(1, 3), label="quantity"),
                    data.draw(st.booleans(), label="restock"),
                )
                for line in chosen
            )
        shipping = amount = None
        if shape in ("shipping", "mixed") and order.shipping:
            shipping = data.draw(st.integers(1, order.shipping), label="shipping")
        if shape in ("amount", "mixed"):
            amount = data.draw(st.integers(1, max(order.refundable, 1) + 100), label="amount")
        return Request(lines=lines, shipping=shipping, amount=amount)

    def system_request(self, index: int, request: Request) -> RefundRequest:
        if request.everything:
            return RefundRequest.full(restock=request.restock_all)
        return RefundRequest(
            lines=tuple(
                LineRefundRequest(self.line_ids[index][line], quantity, restock)
                for line, quantity, restock in request.lines
            ),
            shipping=request.shipping,
            amount=request.amount,
        )

    # ------------------------------------------------------------ the shop
    @initialize(
        points_per_unit=st.integers(1, 10),
        rounding=st.sampled_from(list(PointsRounding)),
        policy=st.sampled_from(list(ShortfallPolicy)),
        first=order_shapes(kinds=("card", "other")),
        more=st.lists(st.tuples(order_shapes(), st.integers(1, 110)), max_size=2),
    )
    def open_shop(
        self,
        points_per_unit: int,
        rounding: PointsRounding,
        policy: ShortfallPolicy,
        first: OrderShape,
        more: list[tuple[OrderShape, int]],
    ) -> None:
        """A merchant with a float and a points program, and its first orders: placed
        here, as a rule could be left out of a whole run. The first one earns points, so
        that later redeem orders have some to spend."""
        # Faults left over from an earlier example would fail refunds the model completes.
        self.system.faults(reject_refunds=0, fail_refunds=0)
        made = self.run(lambda uow: create_merchant(uow, f"Model {uuid.uuid4().hex[:6]}"))
        self.merchant_id = merchant_id = made.merchant.id
        self.run(lambda uow: merchant_float.open_float(uow, merchant_id, "EUR", InvoiceCycle.DAILY))
        self.run(lambda uow: merchant_float.top_up_float(uow, merchant_id, FIRST_TOP_UP))
        program = PointsProgram(points_per_unit, rounding, policy)
        self.run(lambda uow: points.set_program(uow, merchant_id, program))
        self.shop = Shop(points_per_unit, rounding.value, policy.value, FIRST_TOP_UP)
        for shape, spend_percent in [(first, 100), *more]:
            self.place(shape, spend_percent)

    # Hypothesis tries rules with fewer arguments first and favours the first one, so
    # refunds take one argument and every other rule two: the side rules (invoice
    # closes, reconciliation) would otherwise crowd out the orders' own actions.
    # Only while some order has money left: refunds are drawn most, and a run whose
    # orders are all refunded would spend its steps on refusals.
    @precondition(lambda self: any(refundable(order) for order in self.shop.orders))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        index = self.pick(data, refundable)
        request = self.draw_request(data, index)
        float_paid = self.shop.orders[index].method == "float"
        methods = (
            [None, "other", "original", "float"] if float_paid else [None, "other", "original"]
        )
        # Refunding a card order to the float is refused: tried now and then.
        method = data.draw(st.sampled_from([*methods, None, "float"]), label="m")
        self.act(
            lambda shop: shop.refund(shop.orders[index], request, method),
            lambda: self.system_refund(index, request, method, "Model refund", quote=None),
        )

    @precondition(lambda self: self.quote is not None)
    @rule(tamper=st.booleans())
    def refund_with_quote(self, tamper: bool) -> None:
        """Commit what was reviewed: exactly that, or quote-stale / quote-mismatch."""
        assert self.quote is not None
        index, request, method, token, changes, reviewed = self.quote
        if tamper:
            # Another request than the one reviewed: a different goodwill amount.
            request = Request(
                lines=() if request.everything else request.lines,
                shipping=None if request.everything else request.shipping,
                amount=(request.amount or 0) + 1,
            )

        def model_step(shop: Shop) -> None:
            order = shop.orders[index]
            resolved = shop.resolve_method(order, method)
            breakdown = order.calculate(request)  # the order's own rules come first
            if order.changes != changes:
                raise Rejected(QuoteStale, "the order changed since the preview")
            if digest(breakdown, resolved) != reviewed:
                raise Rejected(QuoteMismatch, "another request than the reviewed one")
            shop.refund(order, request, method)

        self.act(
            model_step,
            lambda: self.system_refund(index, request, method, "Reviewed refund", quote=token),
        )

    @precondition(lambda self: len(self.shop.orders) < MAX_ORDERS)
    @rule(shape=order_shapes(), spend_percent=st.integers(1, 110))
    def place_order(self, shape: OrderShape, spend_percent: int) -> None:
        self.place(shape, spend_percent)

    def place(self, shape: OrderShape, spend_percent: int) -> None:
        """A checkout's order; a redeem order spends ``spend_percent`` of the customer's
        balance (over 100: more than they have)."""
        lines = [
            model.Line(line.kind, line.sku, line.quantity, line.unit_price, line.discount, line.tax)
            for line in shape.lines
        ]
        links = [
            model.Link(index)
            for index, line in enumerate(lines)
            if line.kind == model.GIFT
            for _ in range(line.quantity)
        ]
        external_id = f"M-{uuid.uuid4().hex[:12]}"
        total = sum(line.total for line in lines) + shape.shipping + shape.shipping_tax
        part = max(1, total * shape.paid_percent // 100)
        methods = {"other": "other", "redeem_other": "other", "points": "points", "float": "float"}
        entry = model.Order(
            external_id=external_id,
            method=methods.get(shape.kind, "card"),
            manual_capture=shape.kind in ("manual", "pending"),
            lines=lines,
            links=links,
            shipping=shape.shipping,
            shipping_tax=shape.shipping_tax,
            authorized=total,
            captured=total,
            auth_state="captured",
            status=model.PAID,
        )
        command: dict[str, Any] = {"capture_mode": CaptureMode.AUTOMATIC}
        if shape.kind == "card":
            entry.captured = part
            command |= {"authorized": total, "captured": part}
        elif shape.kind == "manual":
            entry.authorized, entry.captured = part, 0
            entry.auth_state, entry.status = "active", model.AUTHORIZED
            command |= {"authorized": part, "capture_mode": CaptureMode.MANUAL}
        elif shape.kind == "pending":
            entry.authorized = entry.captured = 0
            entry.auth_state, entry.status = "none", model.PENDING
            command |= {"authorized": 0, "capture_mode": CaptureMode.MANUAL}
        elif shape.kind in ("redeem_card", "redeem_other", "points"):
            spent = max(1, self.shop.points_balance * spend_percent // 100)
            value = total * shape.points_percent // 100
            entry.redeemed, entry.points_value = spent, max(1, min(value, total - 1))
            if shape.kind == "points":
                entry.points_value = total
            command |= {"points_redeemed": spent, "points_value": entry.points_value}
        if shape.kind == "manual":
            entry.intent = self.system.pay(entry.authorized, manual=True)
        elif shape.kind in ("card", "redeem_card"):
            entry.intent = self.system.pay(entry.money_captured, manual=False)
        placed = orders.PlaceOrder(
            merchant_id=self.merchant_id,
            external_id=external_id,
            customer=CUSTOMER,
            currency_code="EUR",
            lines=[
                NewLine(
                    line.sku,
                    line.sku,
                    LINE_KINDS[line.kind],
                    line.quantity,
                    line.unit_price,
                    line.discount,
                    line.tax,
                )
                for line in shape.lines
            ],
            shipping_amount=shape.shipping,
            shipping_tax=shape.shipping_tax,
            payment_method=PaymentMethod(entry.method),
            payment_reference=entry.intent,
            **command,
        )
        made = self.act(
            lambda shop: shop.place(entry),
            lambda: self.run(lambda uow: orders.ingest_order(uow, placed)),
        )
        if made is not None:
            self.shop.orders[-1].id = made.id
            self.line_ids.append([line.id for line in made.lines])
            self.link_ids.append([(link.id, link.token) for link in made.links])

    # ---------------------------------------------------- payment, shipping
    @precondition(lambda self: any(o.status == model.PENDING for o in self.shop.orders))
    @rule(data=st.data(), partial=st.booleans())
    def authorize(self, data: st.DataObject, partial: bool) -> None:
        index = self.pick(data, lambda order: order.status == model.PENDING)
        total = self.shop.orders[index].total
        amount = max(1, total // 2) if partial else total
        self.act(
            lambda shop: shop.authorize(shop.orders[index], amount),
            lambda: self.run(
                lambda uow: orders.authorize_order(
                    uow, self.merchant_id, self.order_id(index), amount
                )
            ),
        )

    @precondition(lambda self: any(o.status == model.AUTHORIZED for o in self.shop.orders))
    @rule(data=st.data(), partial=st.booleans())
    def capture(self, data: st.DataObject, partial: bool) -> None:
        """Capture a hold at the gateway (all of it, or a part: the rest is released)."""
        index = self.pick(data, lambda order: order.status == model.AUTHORIZED)
        amount = max(1, self.shop.orders[index].authorized // 3) if partial else None
        providers = self.container.provider_work.providers
        self.act(
            lambda shop: shop.capture(shop.orders[index], amount),
            lambda: self.run(
                lambda uow: orders.capture_order(
                    uow, self.merchant_id, self.order_id(index), amount, providers
                )
            ),
        )

    @precondition(lambda self: any(shippable(order) for order in self.shop.orders))
    @rule(data=st.data(), every_open_unit=st.booleans())
    def fulfil(self, data: st.DataObject, every_open_unit: bool) -> None:
        """Ship units; a held payment is captured first."""
        index = self.pick(data, shippable)
        quantities: dict[int, int] | None = None
        if not every_open_unit:
            line = data.draw(st.integers(0, len(self.line_ids[index]) - 1), label="line")
            quantities = {line: data.draw(st.integers(1, 3), label="quantity")}
        by_id = (
            None
            if quantities is None
            else {self.line_ids[index][line]: units for line, units in quantities.items()}
        )
        providers = self.container.provider_work.providers
        self.act(
            lambda shop: shop.fulfil(shop.orders[index], quantities),
            lambda: self.run(
                lambda uow: orders.fulfil_order(
                    uow, self.merchant_id, self.order_id(index), by_id, providers
                )
            ),
        )

    # ------------------------------------------------------------- cancels
    @precondition(lambda self: any(cancellable(order) for order in self.shop.orders))
    @rule(data=st.data(), reason=st.sampled_from([None, "Customer changed their mind"]))
    def cancel(self, data: st.DataObject, reason: str | None) -> None:
        index = self.pick(data, cancellable)
        self.act(
            lambda shop: shop.cancel(shop.orders[index]),
            lambda: self.run(
                lambda uow: cancellation.cancel_order(
                    uow,
                    self.merchant_id,
                    self.order_id(index),
                    reason=reason,
                    status_label=None,
                    actor="model",
                )
            ),
        )

    @precondition(lambda self: any(item_cancellable(order) for order in self.shop.orders))
    @rule(data=st.data(), one_link=st.booleans())
    def cancel_item(self, data: st.DataObject, one_link: bool) -> None:
        """Cancel a line's open units, or one gift-card link (``one_link``)."""
        index = self.pick(data, item_cancellable)
        line = data.draw(st.integers(0, len(self.line_ids[index]) - 1), label="line")
        positions = [
            position
            for position, link in enumerate(self.shop.orders[index].links)
            if link.line == line
        ]
        position = None
        if positions and one_link:
            position = data.draw(st.sampled_from(positions), label="link")
        item_id = (
            self.line_ids[index][line] if position is None else self.link_ids[index][position][0]
        )
        self.act(
            lambda shop: shop.cancel_item(
                shop.orders[index],
                line,
                None if position is None else shop.orders[index].links[position],
            ),
            lambda: self.run(
                lambda uow: cancellation.cancel_item(
                    uow, self.merchant_id, self.order_id(index), item_id, reason=None, actor="model"
                )
            ),
        )

    @precondition(lambda self: any(refundable(order) for order in self.shop.orders))
    @rule(data=st.data(), method=st.sampled_from([None, "other", "float"]))
    def preview(self, data: st.DataObject, method: str | None) -> None:
        """Review refund: read-only, the same figures the refund would make."""
        index = self.pick(data, refundable)
        request = self.draw_request(data, index)
        expected: list[tuple[Any, ...]] = []

        def model_step(shop: Shop) -> None:
            order = shop.orders[index]
            resolved = shop.resolve_method(order, method)
            expected.append(digest(order.calculate(request), resolved))

        previewed = self.act(
            model_step,
            lambda: transactions.read(
                self.container.uow_factory,
                lambda uow: refunds.preview_refund(
                    uow,
                    self.container.quotes,
                    self.merchant_id,
                    self.order_id(index),
                    self.system_request(index, request),
                    None if method is None else RefundMethod(method),
                ),
            ),
        )
        if previewed is None:
            return
        lines = self.line_ids[index]
        breakdown = previewed.breakdown
        got = (
            previewed.method.value,
            tuple(
                (
                    lines.index(line.order_line_id),
                    line.quantity,
                    line.unfulfilled_quantity,
                    line.restocked_quantity,
                    line.subtotal.minor,
                    line.discount.minor,
                    line.tax.minor,
                )
                for line in breakdown.lines
            ),
            breakdown.shipping.minor,
            breakdown.shipping_tax.minor,
            breakdown.goodwill.minor,
            breakdown.adjustment.minor,
            breakdown.total.minor,
        )
        assert got == expected[0]
        changes = self.shop.orders[index].changes
        self.quote = (index, request, method, previewed.quote.token, changes, expected[0])

    # ------------------------------------------------- provider, links, float
    @precondition(lambda self: any(provider_work(order) for order in self.shop.orders))
    # Failures first: the values drawn first are drawn most, and failures are the news.
    @rule(rejects=st.sampled_from([1, 0, 2]), fails=st.sampled_from([1, 0, 2]))
    def provider_settles(self, rejects: int, fails: int) -> None:
        """The worker sends every waiting card refund to the gateway and follows it: the
        first ``rejects`` are declined at once, the next ``fails`` are accepted and then
        fail, the rest complete. Voids release their holds."""
        waiting = sorted(
            (
                (refund.sequence, order, refund)
                for order in self.shop.orders
                for refund in order.refunds
                if refund.via_gateway and refund.pending
            ),
            key=lambda found: found[0],
        )
        self.system.faults(reject_refunds=rejects, fail_refunds=fails)
        try:
            settle(self.container)
        finally:
            self.system.faults(reject_refunds=0, fail_refunds=0)
        for position, (_, order, refund) in enumerate(waiting):
            if position < rejects + fails:
                event(f"provider failed a {refund.kind} refund of a {order.status} order")
                self.shop.fail(order, refund)
            else:
                self.shop.complete(order, refund)
        for order in self.shop.orders:
            if order.auth_state == "void_pending":
                order.auth_state = "voided"
                order.changes += 1

    @precondition(lambda self: any(live_links(order) for order in self.shop.orders))
    @rule(data=st.data(), twice=st.booleans())
    def open_link(self, data: st.DataObject, twice: bool) -> None:
        """The consumer's click: the first one is recorded, and the link can no longer
        be cancelled or refunded by line; a second click changes nothing."""
        index = self.pick(data, live_links)
        if not self.link_ids[index]:
            return  # a random pick of an order without links: nothing to click
        position = data.draw(st.integers(0, len(self.link_ids[index]) - 1), label="link")
        token = self.link_ids[index][position][1]
        for _ in range(2 if twice else 1):
            self.act(
                lambda shop: shop.open_link(shop.orders[index], shop.orders[index].links[position]),
                lambda: self.run(lambda uow: orders.open_link(uow, token)),
            )

    @precondition(lambda self: any(float_credit(order) for order in self.shop.orders))
    @rule(days=st.integers(1, 3), top_up=st.sampled_from([0, 0, 5_000, 30_000]))
    def invoice_cycle_closes(self, days: int, top_up: int) -> None:
        """Days pass and the merchant may top up the float; every pending float refund is
        credited at the close."""
        if top_up:
            self.run(lambda uow: merchant_float.top_up_float(uow, self.merchant_id, top_up))
            self.shop.float_balance += top_up
        self.clock += timedelta(days=days)
        self.run(lambda uow: merchant_float.close_due_cycles(uow, self.merchant_id, self.clock))
        for order in self.shop.orders:
            for refund in order.refunds:
                if refund.method == "float" and refund.pending:
                    self.shop.complete(order, refund)
                    self.shop.float_balance += refund.amount

    # -------------------------------------------------------- reconciliation
    @precondition(lambda self: any(not order.has_record for order in self.shop.orders))
    @rule(data=st.data(), with_points=st.booleans())
    def import_record(self, data: st.DataObject, with_points: bool) -> None:
        """The points system reports an order's transaction (its points figure is
        optional); an order with a record is never reversed."""
        # Mostly another order's record: a redeem order left without one is reversed.
        index = self.pick(data, lambda order: not order.has_record and not order.redeemed)
        order = self.shop.orders[index]
        self.import_records(
            ExpectedRecord(
                f"tx-{self.records}",
                order.external_id,
                Money(order.captured or order.authorized, EUR),
                order.redeemed if with_points and order.redeemed else None,
                RECORDS_FROM,
            )
        )
        order.has_record = True

    def import_records(self, record: ExpectedRecord) -> None:
        self.records += 1
        self.run(lambda uow: reconciliation.add_records(uow, self.merchant_id, [record]))
        self.shop.records_imported = True

    # Never disabled (a run needs one rule it can always take), and three arguments, so
    # it is tried after the others.
    @rule(
        grace_hours=st.sampled_from([0, 0, 48]),
        runs=st.integers(1, 2),
        orphan_record=st.booleans(),
    )
    def reconcile(self, grace_hours: int, runs: int, orphan_record: bool) -> None:
        """A redeem order still without its record after the grace period is reversed
        (auto_refunded); reconciling again right after reverses nothing more. A record
        naming no order Refundry knows (``orphan_record``) is reported, and starts the
        coverage all the same: orders from its time on are reconciled."""
        if orphan_record:
            self.import_records(
                ExpectedRecord(
                    f"tx-{self.records}",
                    f"nowhere-{self.records}",
                    Money(100, EUR),
                    None,
                    RECORDS_FROM,
                )
            )
        for run in range(runs):
            outcome = reconciliation.reconcile(
                self.container.uow_factory, self.merchant_id, grace=timedelta(hours=grace_hours)
            )
            reversed_orders = self.shop.reconcile(grace_passed=grace_hours == 0)
            assert not (run and reversed_orders), "the model reversed an order twice"
            for order in reversed_orders:
                event(f"auto refund of a {order.method} redeem order")
            assert set(outcome.orders_auto_refunded) == {order.id for order in reversed_orders}

    # ------------------------------------------------------------ invariants
    @invariant()
    def the_system_is_the_model(self) -> None:
        if not hasattr(self, "shop"):
            return
        merchant_id = self.merchant_id
        with self.container.uow_factory(write=False) as uow:
            stored = [
                uow.orders.get(merchant_id, self.order_id(i)) for i in range(len(self.line_ids))
            ]
            entries = uow.points.entries(merchant_id, CUSTOMER_KEY, 100_000)
            balance = uow.points.balance(merchant_id, CUSTOMER_KEY)
            summary = merchant_float.float_summary(uow, merchant_id)
            stock = {level.sku: level.on_hand for level in uow.stock.list(merchant_id)}
            found = uow.reconciliation.discrepancies(
                merchant_id, include_resolved=True, after=None, limit=1000
            )
        for index, order in enumerate(stored):
            self.check_order(index, order)
        self.check_points(entries, balance)
        assert summary.account.balance.minor == self.shop.float_balance
        pending_float = sum(
            refund.amount
            for order in self.shop.orders
            for refund in order.refunds
            if refund.method == "float" and refund.pending
        )
        assert summary.pending_total.minor == pending_float
        assert summary.account.balance.minor >= 0  # a prepaid float never goes negative
        assert stock == self.shop.stock
        self.check_gateway()
        missing = {d.subject for d in found if d.kind is DiscrepancyKind.MISSING_RECORD}
        assert missing == {str(order.id) for order in self.shop.auto_refunded}
        unsettled = {
            d.subject
            for d in found
            if d.kind is DiscrepancyKind.AUTO_REFUND_FAILED and d.resolved_at is None
        }
        assert unsettled == {str(self.order_id(i)) for i in self.shop.failed_reversals_open}

    def check_order(self, index: int, stored: domain.Order) -> None:
        expected = self.shop.orders[index]
        line_index = {line_id: position for position, line_id in enumerate(self.line_ids[index])}
        # Refunds are learnt by position: the model knows what they are, not their ids.
        for refund, made in zip(expected.refunds, stored.refunds, strict=False):
            if refund.id is None:
                refund.id = made.id
        # Invariants that hold whatever the model says.
        captured = stored.payment.captured.minor
        assert stored.refunded.minor <= captured, "refunded more than was captured"
        assert stored.points_value_refunded <= stored.payment.points_value
        for line in stored.lines:
            gone = stored.line_refunds(line.id).quantity + line.cancelled_quantity
            assert gone <= line.quantity, "more units refunded or cancelled than ordered"
            assert line.fulfilled_quantity <= line.quantity
        if stored.status.value in (model.PAID, model.PARTIALLY_REFUNDED, model.FULLY_REFUNDED):
            refunded = stored.refunded.minor
            derived = (
                model.PAID
                if refunded == 0
                else model.FULLY_REFUNDED
                if refunded >= captured
                else model.PARTIALLY_REFUNDED
            )
            assert stored.status.value == derived, "status is not the ledger's"
        assert 0 <= stored.points.reversed <= stored.points.earned
        assert 0 <= stored.points.restored <= stored.points.redeemed
        # And everything the model predicts.
        got = {
            "status": stored.status.value,
            "fulfilment": stored.fulfilment_status.value,
            "authorization": stored.payment.authorization_state.value,
            "authorized": stored.payment.authorized.minor,
            "captured": captured,
            "refunded": stored.refunded.minor,
            "refundable": stored.refundable.minor,
            "points": (
                stored.points.earned,
                stored.points.reversed,
                stored.points.redeemed,
                stored.points.restored,
            ),
            "lines": [
                (
                    line.fulfilled_quantity,
                    line.cancelled_quantity,
                    stored.line_refunds(line.id).quantity,
                )
                for line in stored.lines
            ],
            "links": [
                (link.accessed_at is not None, link.cancelled_at is not None)
                for link in stored.links
            ],
            "refunds": [
                (
                    refund.id,
                    refund.kind.value,
                    refund.method.value,
                    refund.status.value,
                    refund.amount.minor,
                    None if refund.points_value is None else refund.points_value.minor,
                    refund.points_reversed,
                    refund.points_restored,
                    tuple(
                        (
                            line_index[line.order_line_id],
                            line.quantity,
                            line.unfulfilled_quantity,
                            line.restocked_quantity,
                            line.subtotal.minor,
                            line.discount.minor,
                            line.tax.minor,
                        )
                        for line in refund.breakdown.lines
                    ),
                    refund.breakdown.shipping.minor,
                    refund.breakdown.shipping_tax.minor,
                    refund.breakdown.goodwill.minor,
                    refund.breakdown.adjustment.minor,
                )
                for refund in stored.refunds
            ],
        }
        want = {
            "status": expected.status,
            "fulfilment": expected.fulfilment_status(),
            "authorization": expected.auth_state,
            "authorized": expected.authorized,
            "captured": expected.captured,
            "refunded": expected.refunded,
            "refundable": expected.refundable,
            "points": (expected.earned, expected.reversed, expected.redeemed, expected.restored),
            "lines": [
                (line.fulfilled, line.cancelled, expected.refunded_quantity(position))
                for position, line in enumerate(expected.lines)
            ],
            "links": [(link.opened, link.cancelled) for link in expected.links],
            "refunds": [
                (
                    refund.id,
                    refund.kind,
                    refund.method,
                    refund.status,
                    refund.amount,
                    refund.points_value,
                    refund.points_reversed,
                    refund.points_restored,
                    tuple(
                        (
                            line.line,
                            line.quantity,
                            line.unfulfilled,
                            line.restocked,
                            line.subtotal,
                            line.discount,
                            line.tax,
                        )
                        for line in refund.breakdown.lines
                    ),
                    refund.breakdown.shipping,
                    refund.breakdown.shipping_tax,
                    refund.breakdown.goodwill,
                    refund.breakdown.adjustment,
                )
                for refund in expected.refunds
            ],
        }
        assert got == want, f"order {index} ({expected.method}) differs from the model"
        # The version moves exactly when the model says the order changed: an illegal
        # action changed nothing, and a quote goes stale exactly when it should.
        last_changes, last_version = self.seen.get(index, (expected.changes, stored.version))
        moved = stored.version != last_version
        assert moved == (expected.changes != last_changes), f"order {index}: version {moved=}"
        assert stored.version >= last_version
        self.seen[index] = (expected.changes, stored.version)

    def check_points(self, entries: list[Any], balance: int) -> None:
        assert balance == sum(entry.points for entry in entries)
        assert balance == self.shop.points_balance
        got = sorted(
            (entry.kind.value, entry.points, entry.shortfall, entry.order_id, entry.refund_id)
            for entry in entries
        )
        want = sorted(
            (
                entry.kind,
                entry.points,
                entry.shortfall,
                entry.order.id,
                None if entry.refund is None else entry.refund.id,
            )
            for entry in self.shop.ledger
        )
        assert got == want, "the points ledger differs from the model"

    def check_gateway(self) -> None:
        intents = {intent["id"]: intent for intent in self.system.state()["payment_intents"]}
        for order in self.shop.orders:
            if order.intent is None:
                continue
            intent = intents[order.intent]
            refunded = sum(
                refund.money_amount
                for refund in order.refunds
                if refund.via_gateway and refund.status == model.COMPLETED
            )
            if order.auth_state == "voided":
                status, received = "canceled", 0
            elif order.captured == 0:
                status, received = "requires_capture", 0
            else:
                status, received = "succeeded", order.money_captured
            got = (intent["status"], intent["amount_received"], intent["amount_refunded"])
            assert got == (status, received, refunded), f"gateway intent of {order.external_id}"

    def teardown(self) -> None:
        # Leave no provider work behind: the next example's faults are for its refunds.
        settle(self.container)


@pytest.fixture
def system(own_database_url: str) -> Iterator[System]:
    """The system on a database and a sandbox gateway of this test's own: the worker's
    outbox is drained whole, so no other test's refunds may reach these faults."""
    with sandbox_psp_server() as psp:
        container = bootstrap(
            Settings(
                database_url=own_database_url,
                sandbox_psp_url=psp,
                webhook_allow_private_networks=True,
            )
        )
        try:
            with httpx.Client(base_url=psp) as client:
                yield System(container, client)
        finally:
            container.engine.dispose()


@pytest.mark.slow
def test_orders_behave_like_the_model(system: System) -> None:
    class OnThisSystem(OrderModel):
        def __init__(self) -> None:
            super().__init__(system)

    run_state_machine_as_test(
        OnThisSystem,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# Minimal reproductions of what the model found, kept as plain tests: each fails on the
# code as it was, and they run in a moment, where the model needs luck to meet them again.


def _ingest(container: Container, merchant_id: uuid.UUID, **command: Any) -> domain.Order:
    placed = orders.PlaceOrder(
        merchant_id=merchant_id,
        external_id=f"R-{uuid.uuid4().hex[:10]}",
        customer=CUSTOMER,
        currency_code="EUR",
        **{"lines": [NewLine("SKU-R", "Lamp", LineKind.PHYSICAL, 2, 1000)], **command},
    )
    return transactions.run(container.uow_factory, lambda uow: orders.ingest_order(uow, placed))


def _stock(container: Container, merchant_id: uuid.UUID, sku: str) -> int:
    levels = transactions.read(
        container.uow_factory, lambda uow: uow.stock.list(merchant_id, [sku])
    )
    return levels[0].on_hand


def test_an_item_cancelled_before_capture_goes_back_on_the_shelf(
    container: Container, merchant: NewMerchant
) -> None:
    # given an order only authorized (nothing captured, so no refund record)
    merchant_id = merchant.merchant.id
    order = _ingest(container, merchant_id, capture_mode=CaptureMode.MANUAL)
    assert _stock(container, merchant_id, "SKU-R") == -2
    # when its line is cancelled as an item
    transactions.run(
        container.uow_factory,
        lambda uow: cancellation.cancel_item(
            uow, merchant_id, order.id, order.lines[0].id, reason=None, actor="test"
        ),
    )
    # then its units are back on the shelf, as a whole-order cancel would put them
    assert _stock(container, merchant_id, "SKU-R") == 0


def test_a_refused_fulfilment_captures_nothing_at_the_provider(
    container: Container, merchant: NewMerchant, sandbox_psp_url: str
) -> None:
    # given an order whose payment is only held at the gateway, and its only line cancelled
    # (which cancels the order: issue 19), its hold not yet released by the worker
    merchant_id = merchant.merchant.id
    with httpx.Client(base_url=sandbox_psp_url) as psp:
        intent = System(container, psp).pay(2000, manual=True)
        order = _ingest(
            container, merchant_id, capture_mode=CaptureMode.MANUAL, payment_reference=intent
        )
        transactions.run(
            container.uow_factory,
            lambda uow: cancellation.cancel_item(
                uow, merchant_id, order.id, order.lines[0].id, reason=None, actor="test"
            ),
        )
        # when it is fulfilled anyway
        with pytest.raises(OrderNotFulfillable):
            transactions.run(
                container.uow_factory,
                lambda uow: orders.fulfil_order(
                    uow, merchant_id, order.id, None, container.provider_work.providers
                ),
            )
        # then the hold is still only a hold at the gateway, as it is in Refundry
        held = psp.get(f"/v1/payment_intents/{intent}", headers=SANDBOX_AUTH).json()
    assert (held["status"], held["amount_received"]) == ("requires_capture", 0)


def _redeem_order_reversed(
    container: Container, merchant_id: uuid.UUID, lines: list[NewLine], method: PaymentMethod
) -> domain.Order:
    """A redeem order paid partly with points, reversed by reconciliation for want of
    its record (an orphan record starts the coverage)."""
    transactions.run(
        container.uow_factory,
        lambda uow: points.set_program(uow, merchant_id, PointsProgram(points_per_unit=10)),
    )
    _ingest(container, merchant_id, payment_method=PaymentMethod.OTHER)  # earns 200 points
    order = _ingest(
        container,
        merchant_id,
        lines=lines,
        payment_method=method,
        points_redeemed=50,
        points_value=500,
    )
    orphan = ExpectedRecord("tx-orphan", "nowhere", Money(100, EUR), None, RECORDS_FROM)
    transactions.run(
        container.uow_factory, lambda uow: reconciliation.add_records(uow, merchant_id, [orphan])
    )
    outcome = reconciliation.reconcile(container.uow_factory, merchant_id, grace=timedelta(0))
    assert outcome.orders_auto_refunded == (order.id,)
    return transactions.read(
        container.uow_factory, lambda uow: uow.orders.get(merchant_id, order.id)
    )


def test_a_reversal_cancels_the_gift_card_links_it_gives_the_money_back_for(
    container: Container, merchant: NewMerchant
) -> None:
    # given a redeem order of two unopened gift-card links, reversed by reconciliation
    lines = [NewLine("GIFT", "Gift card", LineKind.GIFT_CARD_LINK, 2, 1000)]
    reversed_order = _redeem_order_reversed(
        container, merchant.merchant.id, lines, PaymentMethod.OTHER
    )
    # then the links it refunded are dead: their value cannot be spent as well
    assert reversed_order.refunds[0].breakdown.lines[0].quantity == 2
    assert all(link.cancelled_at is not None for link in reversed_order.links)
    with pytest.raises(LinkAlreadyCancelled):
        transactions.run(
            container.uow_factory,
            lambda uow: orders.open_link(uow, reversed_order.links[0].token),
        )


def test_a_failed_reversal_owed_again_is_reported_again(
    container: Container, merchant: NewMerchant
) -> None:
    # given a reversed card redeem order (its refund waits for the gateway)
    merchant_id = merchant.merchant.id
    lines = [NewLine("SKU-R", "Lamp", LineKind.PHYSICAL, 1, 2000)]
    reversed_order = _redeem_order_reversed(container, merchant_id, lines, PaymentMethod.CARD)

    def fail_waiting_refunds(uow: Any) -> None:
        order = uow.orders.get(merchant_id, reversed_order.id)
        for refund in order.refunds:
            if refund.is_pending:
                order.fail_refund(refund.id, "declined", datetime.now(UTC))

    def report() -> set[tuple[str, bool]]:
        found = transactions.read(
            container.uow_factory,
            lambda uow: uow.reconciliation.discrepancies(
                merchant_id, include_resolved=True, after=None, limit=100
            ),
        )
        return {
            (d.kind.value, d.resolved_at is None)
            for d in found
            if d.kind is DiscrepancyKind.AUTO_REFUND_FAILED
        }

    def reconcile() -> None:
        reconciliation.reconcile(container.uow_factory, merchant_id, grace=timedelta(0))

    # when the reversal fails, is made again by hand (resolved), and that fails too
    transactions.run(container.uow_factory, fail_waiting_refunds)
    reconcile()
    assert report() == {("auto_refund_failed", True)}
    transactions.run(
        container.uow_factory,
        lambda uow: refunds.refund_order(
            uow,
            container.quotes,
            merchant_id,
            reversed_order.id,
            RefundRequest.full(),
            method=None,
            reason=None,
            quote=None,
            actor="test",
        ),
    )
    reconcile()
    assert report() == {("auto_refund_failed", False)}
    transactions.run(container.uow_factory, fail_waiting_refunds)
    reconcile()
    # then the money owed again is reported again (design: "a resolved discrepancy that
    # holds again is reopened")
    assert report() == {("auto_refund_failed", True)}
