"""Schema migrations (Alembic), run from code so ``refundry migrate`` needs no ini file."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from refundry.adapters.db.engine import WRITE_OPTION, begin, end_read, is_sqlite
from refundry.adapters.db.repositories import SqlSettingsRepository

MIGRATIONS = Path(__file__).parent / "migrations"
QUOTE_SIGNING_KEY = "quote_signing_key"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's options are configparser's, where % starts an interpolation: a URL with
    # several hosts (a failover pair: ?host=h1%3Ap1&host=h2%3Ap2) or a quoted password
    # has some.
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision and create instance secrets once.

    On SQLite the transaction takes the write lock at its start (BEGIN IMMEDIATE): one
    that read first could not become a writer if a running server wrote meanwhile, and
    SQLite refuses that at once ("database is locked") instead of waiting its turn."""
    with engine.connect() as plain:
        connection = plain.execution_options(**{WRITE_OPTION: True}) if is_sqlite(engine) else plain
        with connection.begin():
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            # Every API process on this database signs refund quotes with the same key.
            SqlSettingsRepository(connection).put_if_absent(
                QUOTE_SIGNING_KEY, secrets.token_hex(32)
            )


@dataclass(frozen=True, slots=True)
class SchemaRevisions:
    applied: tuple[str, ...]  # in the database's alembic_version; empty: never migrated
    latest: tuple[str, ...]  # the heads of the migrations this code carries

    @property
    def current(self) -> bool:
        return self.applied == self.latest


@functools.cache
def latest_revisions() -> tuple[str, ...]:
    # Read from the migration files once: they do not change under a running process.
    return tuple(sorted(ScriptDirectory(str(MIGRATIONS)).get_heads()))


def schema_revisions(engine: Engine) -> SchemaRevisions:
    """Where the database's schema stands; raises what the driver raises when the
    database does not answer."""
    connection, transaction = begin(engine, write=False)
    try:
        applied = MigrationContext.configure(connection).get_current_heads()
    except BaseException:
        end_read(transaction, failed=True)
        raise
    else:
        end_read(transaction, failed=False)
    finally:
        connection.close()
    return SchemaRevisions(tuple(sorted(applied)), latest_revisions())
