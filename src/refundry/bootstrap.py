"""The composition root: builds the engine, units of work and services from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from refundry.adapters.db.engine import create_engine
from refundry.adapters.db.migrate import QUOTE_SIGNING_KEY, migrate
from refundry.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from refundry.config import Settings
from refundry.services.quotes import QuoteSigner


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    quotes: QuoteSigner


def bootstrap(settings: Settings | None = None, *, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    engine = create_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    uow_factory = SqlUnitOfWorkFactory(engine)
    key = settings.secret_key
    if key is None:
        with uow_factory(write=False) as uow:
            key = uow.settings.get(QUOTE_SIGNING_KEY)
        if key is None:
            raise RuntimeError("the database has no quote signing key: run `refundry migrate`")
    signer = QuoteSigner(key.encode(), timedelta(seconds=settings.quote_ttl_seconds))
    return Container(settings, engine, uow_factory, signer)
