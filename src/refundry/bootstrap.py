"""The composition root: builds the engine, units of work and services from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.migrate import QUOTE_SIGNING_KEY, migrate
from refundry.adapters.db.read_model import SqlReadModelFactory
from refundry.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from refundry.adapters.metrics import count_outbox_answers
from refundry.adapters.payments.klarna_provider import KlarnaProvider
from refundry.adapters.payments.metered_provider import MeteredProvider
from refundry.adapters.payments.stripe_events import StripeEventReader
from refundry.adapters.payments.stripe_provider import StripeProvider
from refundry.adapters.webhooks.http_sender import HttpWebhookSender
from refundry.adapters.webhooks.metered_sender import MeteredWebhookSender
from refundry.config import InvalidSetting, Settings
from refundry.domain.order import PaymentMethod
from refundry.domain.payments import PaymentProvider, ProviderEventReader
from refundry.services.handlers.provider_work import OutboxPolicy, ProviderWork
from refundry.services.handlers.quotes import QuoteSigner
from refundry.services.handlers.webhook_delivery import WebhookWork
from refundry.services.ports.payment_providers import ProviderRegistry
from refundry.services.ports.tracing import NO_TRACING, Tracing

SANDBOX_API_KEY = "sk_test_refundry_sandbox"


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    # Read-only, outside the unit of work, on the primary: every read a client may make
    # right after its own write (an order, a refund, an API list) sees that write.
    read_models: SqlReadModelFactory
    quotes: QuoteSigner
    provider_work: ProviderWork
    webhook_work: WebhookWork
    # Inbound event readers by provider name, as in POST /v1/providers/{name}/events.
    event_readers: Mapping[str, ProviderEventReader]
    # Reads that may lag a moment behind the primary (reports, CSV exports, dashboard
    # lists, verify), on REFUNDRY_READ_DATABASE_URL's replica; the primary when it is unset.
    read_engine: Engine
    lagging_reads: SqlReadModelFactory

    # OpenTelemetry when settings.otel (adapters/otel.py's), else one that does nothing.
    tracing: Tracing = NO_TRACING

    def dispose(self) -> None:
        """Close every pooled connection, the replica's too."""
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def bootstrap(settings: Settings | None = None, *, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    pooled = settings.transaction_pooler
    engine = create_engine(settings.database_url, transaction_pooler=pooled)
    if run_migrations:
        migrate(engine)
    tracing = start_tracing(engine) if settings.otel else NO_TRACING
    # Made once tracing is on, so the replica's statements are traced too.
    read_engine = (
        engine
        if settings.read_database_url is None
        else create_engine(settings.read_database_url, transaction_pooler=pooled)
    )
    uow_factory = SqlUnitOfWorkFactory(engine, tracing)
    key = settings.secret_key
    if key is None:
        with uow_factory(write=False) as uow:
            key = uow.settings.get(QUOTE_SIGNING_KEY)
        if key is None:
            raise RuntimeError("the database has no quote signing key: run `refundry migrate`")
    signer = QuoteSigner(key.encode(), timedelta(seconds=settings.quote_ttl_seconds))
    provider_work = ProviderWork(
        uow_factory,
        payment_providers(settings),
        OutboxPolicy(
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            batch_size=settings.provider_batch_size,
            # More threads than a batch has calls would never be used.
            concurrency=min(settings.provider_concurrency, settings.provider_batch_size),
            events_expected=settings.refund_events_expected,
            poll_fallback=timedelta(seconds=settings.refund_poll_fallback_seconds),
        ),
        tracing=tracing,
        recorded=count_outbox_answers,
    )
    webhook_work = WebhookWork(
        uow_factory,
        MeteredWebhookSender(
            HttpWebhookSender(
                timedelta(seconds=settings.webhook_timeout_seconds),
                allow_private_networks=settings.webhook_allow_private_networks,
            )
        ),
        settings.webhook_policy,
        # A lease outlasts the request it covers, whatever the response's pace.
        lease=timedelta(seconds=settings.webhook_timeout_seconds * 3),
    )
    return Container(
        settings,
        engine,
        uow_factory,
        SqlReadModelFactory(engine),
        signer,
        provider_work,
        webhook_work,
        provider_event_readers(settings),
        read_engine,
        SqlReadModelFactory(read_engine),
        tracing,
    )


def start_tracing(engine: Engine) -> Tracing:
    """OpenTelemetry, imported here and only now: without the extra, or with tracing
    off, the process never loads it."""
    try:
        from refundry.adapters import otel
    except ImportError as error:
        raise InvalidSetting(
            "tracing is on (REFUNDRY_OTEL or OTEL_* is set) but OpenTelemetry is not "
            "installed: pip install 'refundry[otel]', or set REFUNDRY_OTEL=0"
        ) from error
    return otel.start_tracing(engine)


def provider_event_readers(settings: Settings) -> dict[str, ProviderEventReader]:
    readers: dict[str, ProviderEventReader] = {
        "sandbox": StripeEventReader(settings.sandbox_webhook_secret)
    }
    if settings.stripe_webhook_secret:
        readers["stripe"] = StripeEventReader(settings.stripe_webhook_secret)
    return readers


def payment_providers(settings: Settings) -> ProviderRegistry:
    card: PaymentProvider | None
    if settings.card_provider == "stripe":
        card = (
            StripeProvider(
                name="stripe",
                api_key=settings.stripe_api_key,
                api_base=settings.stripe_api_base,
                timeout_seconds=settings.provider_timeout_seconds,
            )
            if settings.stripe_api_key
            else None  # refunds wait (and say why) until a key is configured
        )
    else:
        card = StripeProvider(
            name="sandbox",
            api_key=SANDBOX_API_KEY,
            api_base=settings.sandbox_psp_url,
            timeout_seconds=settings.provider_timeout_seconds,
        )
    klarna = KlarnaProvider(
        name="klarna",
        api_base=settings.klarna_api_base or settings.sandbox_psp_url,
        username=settings.klarna_username,
        password=settings.klarna_password,
        timeout_seconds=settings.provider_timeout_seconds,
    )
    providers: dict[PaymentMethod, PaymentProvider] = {PaymentMethod.KLARNA: klarna}
    if card is not None:
        providers[PaymentMethod.CARD] = card
    # Every call is timed and counted by outcome, whichever process makes it.
    return ProviderRegistry(
        {method: MeteredProvider(provider) for method, provider in providers.items()}
    )
