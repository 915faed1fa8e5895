"""Migrations 0015 (returns) and 0016 (store credit) go down to 0014 and up again on both
databases, and the schema they leave is the table definitions' (``test_persistence``
compares them)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from refundry.adapters.db.migrate import alembic_config, migrate


def test_returns_and_store_credit_migrate_down_and_up_again(own_database_url: str) -> None:
    engine = sa.create_engine(own_database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
        tables = set(sa.inspect(engine).get_table_names())
        assert not {"store_credit_accounts", "store_credit_entries"} & tables
        assert not {"returns", "return_lines", "return_status_changes"} & tables
        columns = {column["name"] for column in sa.inspect(engine).get_columns("refunds")}
        assert not {"store_credit_value", "fees"} & columns
        migrate(engine)
        inspector = sa.inspect(engine)
        assert {"store_credit_accounts", "store_credit_entries"} <= set(inspector.get_table_names())
        assert {"returns", "return_lines", "return_status_changes"} <= set(
            inspector.get_table_names()
        )
        merchant_columns = {column["name"] for column in inspector.get_columns("merchants")}
        assert "store_credit_validity_days" in merchant_columns
    finally:
        engine.dispose()
