"""Templates, and amounts formatted for their currency and the reader's locale."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from refundry.domain.money import Currency, Money
from refundry.entrypoints.dashboard import order_reading, refund_destinations

DEFAULT_LOCALE = "en_GB"

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# How an order's cancels and refunds read, on every page that shows an order.
templates.globals.update(
    status_badges=order_reading.status_badges,
    item_counts=order_reading.item_counts,
    refund_status_label=order_reading.refund_status_label,
    # where a refund goes, in the words of the way the order was paid
    refund_to=refund_destinations.refund_to,
    refund_choices=refund_destinations.refund_choices,
    chosen=refund_destinations.chosen,
)
templates.tests["awaits_provider"] = order_reading.awaits_provider
templates.filters.update(words=order_reading.in_words, reason=order_reading.reason_in_words)
# A phrase opening a cell or a sentence ("The customer's Klarna account": Jinja's capitalize
# would lower the rest).
templates.filters["first_upper"] = lambda text: text[:1].upper() + text[1:]


def reader_locale(request: Request) -> str:
    """The first locale of Accept-Language that Babel knows, else British English."""
    for part in request.headers.get("accept-language", "")[:200].split(",")[:5]:
        tag = part.split(";")[0].strip().replace("-", "_")
        if not tag or tag == "*":
            continue
        try:
            return str(Locale.parse(tag))
        except (UnknownLocaleError, ValueError):
            continue
    return DEFAULT_LOCALE


def money_formatter(locale: str) -> Any:
    def money(amount: Money | int, currency_code: str | None = None) -> str:
        """A Money, or minor units with their currency's code (report rows)."""
        if not isinstance(amount, Money):
            assert currency_code is not None
            amount = Money(amount, Currency.of(currency_code))
        return format_currency(
            Decimal(amount.to_decimal_string()), amount.currency.code, locale=locale
        )

    return money


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = reader_locale(request)
    html = templates.get_template(template).render(
        money=money_formatter(locale), locale=locale, **context
    )
    return HTMLResponse(html, status_code=status_code)
