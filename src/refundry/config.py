"""Settings, read once from the environment (``REFUNDRY_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from refundry.domain.order import PaymentMethod
from refundry.domain.webhooks import DeliveryPolicy

DEFAULT_DATABASE_URL = "sqlite:///refundry.db"
DEFAULT_SANDBOX_PSP_URL = "http://127.0.0.1:8010"
# Signs the sandbox gateway's events; a published test value, as the sandbox moves no money.
DEFAULT_SANDBOX_WEBHOOK_SECRET = "whsec_refundry_sandbox"  # noqa: S105
CARD_PROVIDERS = ("sandbox", "stripe")
# What sits between Refundry and PostgreSQL: nothing (or a pooler in session mode, which
# keeps a server connection per client), or a pooler in transaction mode (PgBouncer's
# pool_mode = transaction), which hands each transaction whichever server connection is free.
DATABASE_POOLERS = ("none", "transaction")

LOG_FORMATS = ("text", "json")


class InvalidSetting(ValueError):
    """A ``REFUNDRY_*`` variable the settings cannot take: the user's to fix, not a bug."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Reads that may lag behind the primary (reports, CSV exports, dashboard lists, verify)
    # go here when set: a streaming replica. None: they read the primary too.
    read_database_url: str | None = None
    # "transaction" when the database URLs point at a pooler in transaction mode: psycopg
    # then prepares no statement on the server (a prepared statement lives on one server
    # connection, and the next transaction may be given another).
    database_pooler: str = "none"
    # Signs refund quotes; when unset, a key generated at migration and kept in the
    # database is used, so every process on one database agrees.
    secret_key: str | None = None
    quote_ttl_seconds: int = 1800
    # Who moves card money: the local sandbox gateway, or Stripe itself.
    card_provider: str = "sandbox"
    sandbox_psp_url: str = DEFAULT_SANDBOX_PSP_URL
    stripe_api_key: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secret: str | None = None  # checks POST /v1/providers/stripe/events
    # Klarna's Order Management API; the sandbox gateway serves a subset of it by default.
    klarna_api_base: str | None = None  # None: the sandbox gateway's address
    klarna_username: str = "sandbox"
    klarna_password: str = "sandbox"  # noqa: S105 -- the sandbox's published test login
    sandbox_webhook_secret: str = DEFAULT_SANDBOX_WEBHOOK_SECRET
    provider_timeout_seconds: float = 10.0
    # How long a worker owns an outbox message it took; longer than a batch's calls.
    outbox_lease_seconds: float = 60.0
    # Provider work: messages a worker leases at once, and calls it keeps in flight per
    # provider (a slow gateway then costs latency, not throughput).
    provider_batch_size: int = 32
    provider_concurrency: int = 32
    # The providers send refund events (Stripe's refund.updated, the sandbox's own, to
    # POST /v1/providers/{name}/events): a refund settles from its event, and a poll of
    # the provider is only the fallback, this long after the send.
    refund_events_expected: bool = False
    refund_poll_fallback_seconds: float = 30.0
    # Days an uncaptured authorization lasts, by payment method (Klarna 28, card 7).
    authorization_days: Mapping[str, int] = field(default_factory=lambda: {"klarna": 28, "card": 7})
    # How far ahead the authorization watch looks for holds about to lapse.
    authorization_watch_horizon_hours: float = 48.0
    # Webhook delivery: a request's timeout, the backoff between retries, when a delivery
    # is given up (failed) and when an endpoint failing all along is disabled.
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: float = 30.0
    webhook_retry_ceiling_seconds: float = 6 * 3600.0
    webhook_give_up_after_hours: float = 72.0
    webhook_disable_after_hours: float = 120.0
    # Endpoints on loopback or private addresses are refused unless this is set: a
    # merchant's URL must not reach the platform's own network. The demo and tests set it.
    webhook_allow_private_networks: bool = False
    # Reconciliation: how long a redeem order may wait for its transaction record before
    # it is reversed (auto_refunded), and how often the worker runs it.
    reconcile_grace_hours: float = 24.0
    reconcile_every_seconds: float = 3600.0
    # Dashboard cookies are sent over HTTPS only; the demo and tests, on plain loopback
    # HTTP, turn it off.
    dashboard_secure_cookies: bool = True
    # `refundry serve` adds the HTTP benchmark's baseline endpoint (POST /v1/_bench/rows, one
    # INSERT through the API's stack) and its table only when this is set (it serves the
    # CLI's `bench_api`, as `python -m benchmarks` does); never in production.
    bench_endpoints: bool = False
    # Abuse limits (issue 10). Requests a second per API key, per server process, and the
    # burst allowed at once (0 turns the limit off); sign-in attempts a minute per client
    # address; failed sign-ins in a row that lock an email out, and for how long; the
    # largest request body accepted.
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    sign_in_attempts_per_minute: int = 20
    sign_in_lockout_failures: int = 5
    sign_in_lockout_minutes: float = 15.0
    max_request_bytes: int = 1024 * 1024
    # How `refundry serve` and `refundry worker` log: lines for people, or one JSON object a
    # line (with the request id, merchant and order) for a log pipeline.
    log_format: str = "text"
    # Slow clients: a request's header block must arrive within the first, its body within
    # the second after its headers, or the connection is closed (the body's answered 408).
    # 30 s in all by default: headers (a few kB) take an honest client milliseconds, and a
    # body of the largest size accepted (1 MiB) needs 20 s only below about 420 kbit/s.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 20.0
    # OpenTelemetry traces (the `refundry[otel]` extra): on with REFUNDRY_OTEL=1, or when
    # the standard OTEL_* environment names an exporter (see ``otel_wanted``).
    otel: bool = False
    # GET /metrics wants this bearer token when set; unset, it is open to whatever reaches
    # the port (keep it on the internal network). The worker serves its metrics on this
    # port when set (0: not at all), with the same token.
    metrics_token: str | None = None
    worker_metrics_port: int = 0
    worker_metrics_host: str = "0.0.0.0"  # noqa: S104 -- a scraper elsewhere must reach it

    def __post_init__(self) -> None:
        if self.database_pooler not in DATABASE_POOLERS:
            raise ValueError(
                f"REFUNDRY_DATABASE_POOLER must be one of {', '.join(DATABASE_POOLERS)}, "
                f"not {self.database_pooler!r}"
            )
        if self.read_database_url is not None and not (
            self.read_database_url.startswith("postgresql")
            and self.database_url.startswith("postgresql")
        ):
            raise ValueError(
                "REFUNDRY_READ_DATABASE_URL is a PostgreSQL replica of a PostgreSQL "
                "REFUNDRY_DATABASE_URL; SQLite has no replicas"
            )
        if self.card_provider not in CARD_PROVIDERS:
            raise ValueError(
                f"REFUNDRY_CARD_PROVIDER must be one of {', '.join(CARD_PROVIDERS)}, "
                f"not {self.card_provider!r}"
            )
        if not 1 <= self.provider_batch_size <= 1000 or self.provider_concurrency < 1:
            raise ValueError(
                "REFUNDRY_PROVIDER_BATCH_SIZE must be from 1 to 1000, and "
                "REFUNDRY_PROVIDER_CONCURRENCY at least 1"
            )
        # A batch's calls run in waves of the concurrency, each as long as a timeout at most.
        waves = -(-self.provider_batch_size // self.provider_concurrency)
        if self.outbox_lease_seconds <= waves * self.provider_timeout_seconds:
            raise ValueError(
                "the outbox lease must outlast a batch's provider calls: more than "
                f"{waves} x REFUNDRY_PROVIDER_TIMEOUT_SECONDS"
            )
        if self.refund_poll_fallback_seconds <= 0:
            raise ValueError("REFUNDRY_REFUND_POLL_FALLBACK_SECONDS must be positive")
        if not 0 <= self.reconcile_grace_hours <= 24 * 365:
            raise ValueError("REFUNDRY_RECONCILE_GRACE_HOURS must be from 0 to 8760")
        if not 0 < self.reconcile_every_seconds <= 7 * 24 * 3600:
            raise ValueError("REFUNDRY_RECONCILE_EVERY_SECONDS must be from 1 to 604800")
        if self.rate_limit_per_second < 0 or self.rate_limit_burst < 1:
            raise ValueError("REFUNDRY_RATE_LIMIT_PER_SECOND must be >= 0 and the burst >= 1")
        if self.sign_in_lockout_failures < 1 or self.max_request_bytes < 1024:
            raise ValueError("the sign-in lockout needs >= 1 failure; bodies >= 1024 bytes")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"REFUNDRY_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                f"not {self.log_format!r}"
            )
        if self.header_timeout_seconds <= 0 or self.body_timeout_seconds <= 0:
            raise ValueError("REFUNDRY_HEADER_/BODY_TIMEOUT_SECONDS must be positive")
        if not 0 <= self.worker_metrics_port <= 65535:
            raise ValueError("REFUNDRY_WORKER_METRICS_PORT must be from 0 (off) to 65535")

    @property
    def transaction_pooler(self) -> bool:
        return self.database_pooler == "transaction"

    @property
    def webhook_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            timeout=timedelta(seconds=self.webhook_timeout_seconds),
            retry_base=timedelta(seconds=self.webhook_retry_base_seconds),
            retry_ceiling=timedelta(seconds=self.webhook_retry_ceiling_seconds),
            give_up_after=timedelta(hours=self.webhook_give_up_after_hours),
            disable_after=timedelta(hours=self.webhook_disable_after_hours),
        )

    @property
    def authorization_validity(self) -> dict[PaymentMethod, timedelta]:
        return {
            PaymentMethod(name): timedelta(days=days)
            for name, days in self.authorization_days.items()
        }

    @classmethod
    def from_env(cls) -> Settings:
        try:
            return cls._from_env()
        except ValueError as error:  # a number that is none, or a value refused above
            raise InvalidSetting(f"a REFUNDRY_* setting is not valid: {error}") from error

    @classmethod
    def _from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            database_url=env("REFUNDRY_DATABASE_URL", DEFAULT_DATABASE_URL),
            read_database_url=env("REFUNDRY_READ_DATABASE_URL") or None,
            database_pooler=env("REFUNDRY_DATABASE_POOLER", "none") or "none",
            secret_key=env("REFUNDRY_SECRET_KEY") or None,
            quote_ttl_seconds=int(env("REFUNDRY_QUOTE_TTL_SECONDS", "1800")),
            card_provider=env("REFUNDRY_CARD_PROVIDER", "sandbox"),
            sandbox_psp_url=env("REFUNDRY_SANDBOX_PSP_URL", DEFAULT_SANDBOX_PSP_URL),
            stripe_api_key=env("REFUNDRY_STRIPE_API_KEY") or None,
            stripe_api_base=env("REFUNDRY_STRIPE_API_BASE", "https://api.stripe.com"),
            stripe_webhook_secret=env("REFUNDRY_STRIPE_WEBHOOK_SECRET") or None,
            klarna_api_base=env("REFUNDRY_KLARNA_API_BASE") or None,
            klarna_username=env("REFUNDRY_KLARNA_USERNAME", "sandbox"),
            klarna_password=env("REFUNDRY_KLARNA_PASSWORD", "sandbox"),
            sandbox_webhook_secret=env(
                "REFUNDRY_SANDBOX_WEBHOOK_SECRET", DEFAULT_SANDBOX_WEBHOOK_SECRET
            ),
            provider_timeout_seconds=float(env("REFUNDRY_PROVIDER_TIMEOUT_SECONDS", "10")),
            outbox_lease_seconds=float(env("REFUNDRY_OUTBOX_LEASE_SECONDS", "60")),
            provider_batch_size=int(env("REFUNDRY_PROVIDER_BATCH_SIZE", "32")),
            provider_concurrency=int(env("REFUNDRY_PROVIDER_CONCURRENCY", "32")),
            refund_events_expected=(
                env("REFUNDRY_REFUND_EVENTS_EXPECTED", "").lower() in ("1", "true", "yes")
            ),
            refund_poll_fallback_seconds=float(env("REFUNDRY_REFUND_POLL_FALLBACK_SECONDS", "30")),
            authorization_days={
                method: int(env(f"REFUNDRY_AUTHORIZATION_DAYS_{method.upper()}", str(days)))
                for method, days in {"klarna": 28, "card": 7}.items()
            },
            authorization_watch_horizon_hours=float(
                env("REFUNDRY_AUTHORIZATION_WATCH_HORIZON_HOURS", "48")
            ),
            webhook_timeout_seconds=float(env("REFUNDRY_WEBHOOK_TIMEOUT_SECONDS", "10")),
            webhook_retry_base_seconds=float(env("REFUNDRY_WEBHOOK_RETRY_BASE_SECONDS", "30")),
            webhook_retry_ceiling_seconds=float(
                env("REFUNDRY_WEBHOOK_RETRY_CEILING_SECONDS", str(6 * 3600))
            ),
            webhook_give_up_after_hours=float(env("REFUNDRY_WEBHOOK_GIVE_UP_AFTER_HOURS", "72")),
            webhook_disable_after_hours=float(env("REFUNDRY_WEBHOOK_DISABLE_AFTER_HOURS", "120")),
            webhook_allow_private_networks=(
                env("REFUNDRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "").lower() in ("1", "true", "yes")
            ),
            reconcile_grace_hours=float(env("REFUNDRY_RECONCILE_GRACE_HOURS", "24")),
            reconcile_every_seconds=float(env("REFUNDRY_RECONCILE_EVERY_SECONDS", "3600")),
            dashboard_secure_cookies=(
                env("REFUNDRY_DASHBOARD_SECURE_COOKIES", "1").lower() not in ("0", "false", "no")
            ),
            bench_endpoints=env("REFUNDRY_BENCH_ENDPOINTS", "").lower() in ("1", "true", "yes"),
            rate_limit_per_second=float(env("REFUNDRY_RATE_LIMIT_PER_SECOND", "100")),
            rate_limit_burst=int(env("REFUNDRY_RATE_LIMIT_BURST", "200")),
            sign_in_attempts_per_minute=int(env("REFUNDRY_SIGN_IN_ATTEMPTS_PER_MINUTE", "20")),
            sign_in_lockout_failures=int(env("REFUNDRY_SIGN_IN_LOCKOUT_FAILURES", "5")),
            sign_in_lockout_minutes=float(env("REFUNDRY_SIGN_IN_LOCKOUT_MINUTES", "15")),
            max_request_bytes=int(env("REFUNDRY_MAX_REQUEST_BYTES", str(1024 * 1024))),
            log_format=env("REFUNDRY_LOG_FORMAT", "text").strip().lower() or "text",
            header_timeout_seconds=float(env("REFUNDRY_HEADER_TIMEOUT_SECONDS", "10")),
            body_timeout_seconds=float(env("REFUNDRY_BODY_TIMEOUT_SECONDS", "20")),
            otel=otel_wanted(os.environ),
            metrics_token=env("REFUNDRY_METRICS_TOKEN") or None,
            worker_metrics_port=int(env("REFUNDRY_WORKER_METRICS_PORT") or "0"),
            worker_metrics_host=env("REFUNDRY_WORKER_METRICS_HOST", "0.0.0.0"),  # noqa: S104
        )


def otel_wanted(env: Mapping[str, str]) -> bool:
    """Traces are on when REFUNDRY_OTEL says so (1/0 decides, whatever else is set), or
    when the standard variables ask for an exporter: OTEL_TRACES_EXPORTER other than
    ``none``, or an OTLP endpoint; OTEL_SDK_DISABLED=true turns them off."""
    explicit = env.get("REFUNDRY_OTEL", "").strip().lower()
    if explicit:
        return explicit in ("1", "true", "yes")
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
