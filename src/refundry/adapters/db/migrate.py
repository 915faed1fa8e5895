"""Schema migrations (Alembic), run from code so ``refundry migrate`` needs no ini file."""

from __future__ import annotations

import secrets
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from refundry.adapters.db.repositories import SqlSettingsRepository

MIGRATIONS = Path(__file__).parent / "migrations"
QUOTE_SIGNING_KEY = "quote_signing_key"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision and create instance secrets once."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        # Every API process on this database signs refund quotes with the same key.
        SqlSettingsRepository(connection).put_if_absent(QUOTE_SIGNING_KEY, secrets.token_hex(32))
