"""Reports reconcile exactly with the ledger, on SQLite and PostgreSQL.

The expected figures are computed here, in Python, from the very orders the
generator produced; the reports compute them in SQL. They must agree to the unit.
Only settled refunds (``completed`` on the day they completed, ``not_requested`` on
the day they were recorded) take sales back: failed and pending ones change nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refundry.adapters.db.tables import messages as message_tables
from refundry.bootstrap import Container
from refundry.domain.order import Order, PaymentMethod, RefundRequest
from refundry.domain.refund import Refund, RefundKind, RefundMethod, RefundStatus
from refundry.domain.reporting import Granularity, RefundFilters, SummaryRow
from refundry.domain.status import OrderStatus
from refundry.entrypoints import seed_data
from refundry.services import transactions
from refundry.services.handlers import merchants
from refundry.services.handlers.merchants import create_merchant
from refundry.services.unit_of_work import UnitOfWork
from refundry.services.views import reports

START = datetime(2026, 3, 20, tzinfo=UTC)  # spans the European DST change on 29 March
ZONES = ["UTC", "Europe/Helsinki", "America/New_York", "Asia/Tokyo"]
FIRST, LAST = date(2026, 3, 1), date(2026, 5, 31)  # every generated fact falls in between


def settled_at(refund: Refund) -> datetime | None:
    """When a refund took the sale back; ``None`` while pending, and for ever once failed."""
    if refund.status is RefundStatus.COMPLETED:
        return refund.completed_at
    if refund.status is RefundStatus.NOT_REQUESTED:
        return refund.created_at
    return None


def expected_by_day(orders: list[Order], zone: ZoneInfo) -> dict[tuple[date, str], dict[str, int]]:
    figures: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in orders:
        code = order.currency.code
        if order.payment.captured.minor > 0:
            day = figures[(order.created_at.astimezone(zone).date(), code)]
            day["orders"] += 1
            # Units cancelled before the capture were never sold (docs/reports.md).
            day["gross"] += sum(line.unit_price.minor * line.sold_quantity for line in order.lines)
            day["discounts"] += sum(line.sold_discount.minor for line in order.lines)
        for refund in order.refunds:
            at = settled_at(refund)
            if at is None:
                continue
            breakdown = refund.breakdown
            sales = sum(line.subtotal.minor - line.discount.minor for line in breakdown.lines)
            sales += breakdown.goodwill.minor + breakdown.adjustment.minor
            day = figures[(at.astimezone(zone).date(), code)]
            day["refunded_sales"] += sales
            day["refunded_tax"] += breakdown.tax.minor
            day["refunded_shipping"] += breakdown.shipping.minor
            prefix = "cancellation" if refund.kind is RefundKind.CANCELLATION else "refund"
            day["cancellations" if prefix == "cancellation" else "refunds"] += refund.amount.minor
            day[f"{prefix}_count"] += 1
    for day in figures.values():
        day["net"] = day["gross"] - day["discounts"] - day["refunded_sales"]
    return figures


def new_merchant(container: Container, zone: str) -> uuid.UUID:
    merchant = transactions.run(container.uow_factory, lambda uow: create_merchant(uow, "R"))
    transactions.run(
        container.uow_factory,
        lambda uow: merchants.set_timezone(uow, merchant.merchant.id, zone),
    )
    return merchant.merchant.id


def summary(
    container: Container, merchant_id: uuid.UUID, granularity: Granularity
) -> list[SummaryRow]:
    _, rows = transactions.query(
        container.read_models,
        lambda read: reports.summary_report(read, merchant_id, FIRST, LAST, granularity),
    )
    return rows


def add_pending_refunds(
    container: Container, merchant_id: uuid.UUID, orders: list[Order]
) -> list[uuid.UUID]:
    """Card refunds the provider has not settled yet (``started``, ``processing``) on a few
    seeded orders. Their events are dropped: no worker is to send them anywhere."""
    refundable = [
        order
        for order in orders
        if order.payment.method is PaymentMethod.CARD
        and order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
        and order.refundable.minor > 0
    ][:4]
    made: list[uuid.UUID] = []
    for number, seeded in enumerate(refundable):

        def pending_refund(
            uow: UnitOfWork, seeded: Order = seeded, number: int = number
        ) -> uuid.UUID:
            order = uow.orders.get(merchant_id, seeded.id)
            now = order.updated_at + timedelta(hours=1)
            refund = order.refund(
                RefundRequest(amount=min(300, order.refundable.minor)),
                method=RefundMethod.ORIGINAL,
                reason="Waiting for the provider",
                created_by="test",
                now=now,
            )
            if number % 2:
                order.refund_processing(refund.id, f"re_pending{number}", now)
            order.events.clear()
            return refund.id

        made.append(transactions.run(container.uow_factory, pending_refund))
    return made


def fail_refunds(container: Container, merchant_id: uuid.UUID, refund_ids: list[uuid.UUID]) -> None:
    for refund_id in refund_ids:

        def fail(uow: UnitOfWork, refund_id: uuid.UUID = refund_id) -> None:
            found = uow.orders.find_refund(merchant_id, refund_id)
            assert found is not None
            order, refund = found
            order.fail_refund(
                refund_id, "expired_or_canceled_card", refund.created_at + timedelta(hours=2)
            )
            order.events.clear()

        transactions.run(container.uow_factory, fail)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(5, 60),
    seed=st.integers(0, 10_000),
    zone=st.sampled_from(ZONES),
    failure_rate=st.sampled_from([seed_data.FAILURE_RATE, 0.5]),
)
def test_summary_is_the_ledger_day_by_day_and_in_total(
    container: Container, count: int, seed: int, zone: str, failure_rate: float
) -> None:
    # given generated orders over two weeks, with their cancels and refunds: completed,
    # failed at the provider, and made by other means
    merchant_id = new_merchant(container, zone)
    orders = list(
        seed_data.generate(
            merchant_id,
            count,
            start=START,
            end=START + timedelta(days=14),
            seed=seed,
            failure_rate=failure_rate,
        )
    )
    seed_data.insert(container.uow_factory, iter(orders))
    # when the summary is asked for day by day
    rows = summary(container, merchant_id, Granularity.DAY)
    # then every day matches the ledger: net = gross - discounts - settled refunds
    expected = expected_by_day(orders, ZoneInfo(zone))
    got = {(row.period, row.currency): row for row in rows}
    assert set(got) == {key for key, values in expected.items() if any(values.values())}
    for key, row in got.items():
        want = expected[key]
        assert row.orders == want["orders"]
        assert row.gross_sales == want["gross"]
        assert row.discounts == want["discounts"]
        assert row.refunded_sales == want["refunded_sales"]
        assert row.refunded_tax == want["refunded_tax"]
        assert row.refunded_shipping == want["refunded_shipping"]
        assert (row.refunds, row.refund_count) == (want["refunds"], want["refund_count"])
        assert (row.cancellations, row.cancellation_count) == (
            want["cancellations"],
            want["cancellation_count"],
        )
        assert row.net_sales == want["net"]
    # and in total, per currency
    for total in reports.totals(rows):
        in_currency = [v for (_, code), v in expected.items() if code == total.currency]
        assert total.net_sales == sum(v["net"] for v in in_currency)
        assert total.net_sales == (
            sum(v["gross"] for v in in_currency)
            - sum(v["discounts"] for v in in_currency)
            - sum(v["refunded_sales"] for v in in_currency)
        )
    # and weeks and months add up to the same totals
    for granularity in (Granularity.WEEK, Granularity.MONTH):
        coarse = summary(container, merchant_id, granularity)
        assert [replace(total, period=FIRST) for total in reports.totals(coarse)] == [
            replace(total, period=FIRST) for total in reports.totals(rows)
        ]
    # and when card refunds wait at the provider, then fail there, no figure moves
    pending = add_pending_refunds(container, merchant_id, orders)
    assert summary(container, merchant_id, Granularity.DAY) == rows
    fail_refunds(container, merchant_id, pending)
    assert summary(container, merchant_id, Granularity.DAY) == rows


def test_seeded_refunds_are_settled_history_with_nothing_to_send(container: Container) -> None:
    # given a seeded data set where a fifth of the card refunds failed
    merchant_id = new_merchant(container, "UTC")
    orders = list(
        seed_data.generate(
            merchant_id, 200, start=START, end=START + timedelta(days=14), seed=5, failure_rate=0.2
        )
    )
    seed_data.insert(container.uow_factory, iter(orders))
    refunds = [refund for order in orders for refund in order.refunds]
    # then every refund is settled: completed or failed at the provider, or by other means
    statuses = Counter(refund.status for refund in refunds)
    assert set(statuses) == {
        RefundStatus.COMPLETED,
        RefundStatus.FAILED,
        RefundStatus.NOT_REQUESTED,
    }
    for refund in refunds:
        changes = [change.status for change in refund.history]
        if refund.status is RefundStatus.COMPLETED:
            assert changes == [
                RefundStatus.STARTED,
                RefundStatus.PROCESSING,
                RefundStatus.COMPLETED,
            ]
            assert refund.provider_reference is not None
            assert refund.provider_reference.startswith("re_")
            assert refund.completed_at is not None
            assert refund.completed_at - refund.created_at >= timedelta(hours=1)
        elif refund.status is RefundStatus.FAILED:
            assert changes[0] is RefundStatus.STARTED
            assert refund.failure_reason in {reason for reason, _ in seed_data.FAILURE_REASONS}
        else:
            assert refund.method is RefundMethod.OTHER
            assert changes == [RefundStatus.NOT_REQUESTED]
    # and a failed refund is refundable again: the order no longer counts it
    for order in orders:
        counted = sum(r.amount.minor for r in order.refunds if r.status is not RefundStatus.FAILED)
        assert order.refundable.minor == order.payment.captured.minor - counted
    # and the stored refunds say the same, with none pending
    page = transactions.query(
        container.read_models,
        lambda read: reports.refunds_report(
            read, merchant_id, FIRST, LAST, RefundFilters(), limit=500
        ),
    )
    assert page.total == len(refunds)
    assert Counter(row.status for row in page.rows) == {
        status.value: count for status, count in statuses.items()
    }
    # and nothing waits in the outbox: no provider hears of history
    assert all(order.events == [] for order in orders)
    with container.engine.connect() as connection:
        queued = connection.execute(
            sa.select(sa.func.count())
            .select_from(message_tables.outbox_messages)
            .where(message_tables.outbox_messages.c.merchant_id == merchant_id)
        ).scalar_one()
    assert queued == 0
    # and the reasons report leaves the failed ones out
    _, reasons = transactions.query(
        container.read_models,
        lambda read: reports.reasons_report(read, merchant_id, FIRST, LAST),
    )
    assert sum(row.count for row in reasons) == len(refunds) - statuses[RefundStatus.FAILED]


def test_the_same_seed_generates_the_same_history() -> None:
    merchant_id = uuid.uuid4()

    def story(seed: int) -> list[tuple[object, ...]]:
        generated = seed_data.generate(
            merchant_id, 150, start=START, end=START + timedelta(days=14), seed=seed
        )
        return [
            (
                order.external_id,
                order.status,
                order.total.minor,
                order.updated_at,
                [
                    (r.kind, r.status, r.amount.minor, r.created_at, r.completed_at,
                     r.provider_reference, r.failure_reason)
                    for r in order.refunds
                ],
            )
            for order in generated
        ]  # fmt: skip

    assert story(21) == story(21)
    assert story(21) != story(22)


def test_items_report_matches_the_lines(container: Container) -> None:
    merchant_id = new_merchant(container, "UTC")
    orders = list(
        seed_data.generate(merchant_id, 80, start=START, end=START + timedelta(days=5), seed=3)
    )
    seed_data.insert(container.uow_factory, iter(orders))
    _, rows = transactions.query(
        container.read_models,
        lambda read: reports.items_report(read, merchant_id, FIRST, LAST),
    )
    sold: dict[tuple[str, str], int] = defaultdict(int)
    returned: dict[tuple[str, str], int] = defaultdict(int)
    for order in orders:
        by_id = {line.id: line for line in order.lines}
        if order.payment.captured.minor > 0:
            for line in order.lines:
                sold[(line.sku, order.currency.code)] += line.sold_quantity
        for refund in order.refunds:
            if settled_at(refund) is not None:
                for refund_line in refund.breakdown.lines:
                    key = (by_id[refund_line.order_line_id].sku, order.currency.code)
                    returned[key] += refund_line.quantity
    assert {(r.sku, r.currency): r.units_sold for r in rows if r.units_sold} == dict(sold)
    assert {
        (r.sku, r.currency): r.units_cancelled + r.units_refunded
        for r in rows
        if r.units_cancelled + r.units_refunded
    } == dict(returned)
    assert all(row.net == row.gross - row.discounts - row.refunds for row in rows)


def test_the_csv_has_every_refund_and_the_same_totals_as_the_api(container: Container) -> None:
    import csv
    import io
    from decimal import Decimal

    from refundry.entrypoints.actors import merchant_actors
    from refundry.entrypoints.refund_report_csv import refund_report_csv

    merchant_id = new_merchant(container, "Europe/Helsinki")
    orders = list(
        seed_data.generate(
            merchant_id, 120, start=START, end=START + timedelta(days=5), seed=11, failure_rate=0.2
        )
    )
    seed_data.insert(container.uow_factory, iter(orders))
    first, last = FIRST, LAST
    page = transactions.query(
        container.read_models,
        lambda read: reports.refunds_report(
            read, merchant_id, first, last, RefundFilters(), limit=500
        ),
    )
    text = "".join(
        refund_report_csv(
            reports.stream_refunds_report(
                container.read_models, merchant_id, first, last, RefundFilters()
            ),
            merchant_actors(container, merchant_id),
        )
    )
    assert text.startswith("\ufeff")
    parsed = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(parsed) == page.total == len(page.rows) > 0
    exponents = {"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3}
    for currency, exponent in exponents.items():
        from_csv = sum(Decimal(row["amount"]) for row in parsed if row["currency"] == currency)
        from_api = sum(row.amount for row in page.rows if row.currency == currency)
        assert from_csv == Decimal(from_api).scaleb(-exponent)
    assert {row["refund_id"] for row in parsed} == {str(row.id) for row in page.rows}
    # failed and by-other-means refunds are listed too, each with its status
    assert {row["status"] for row in parsed} == {"completed", "failed", "not_requested"}
    datetime.fromisoformat(parsed[0]["created_at"])  # ISO 8601
    # who made them, as recorded and as a person reads it (`refundry seed` made them all)
    assert {(row["created_by"], row["created_by_name"]) for row in parsed} == {
        ("seed", "Demo data")
    }
