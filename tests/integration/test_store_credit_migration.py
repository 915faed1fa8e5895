"""Migration 0015 (store credit) goes down to 0014 and up again on both databases, and
the schema it leaves is the table definitions' (``test_persistence`` compares them)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from refundry.adapters.db.migrate import alembic_config, migrate


def test_store_credit_migrates_down_and_up_again(own_database_url: str) -> None:
    engine = sa.create_engine(own_database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            config = alembic_config(engine)
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
        tables = set(sa.inspect(engine).get_table_names())
        assert not {"store_credit_accounts", "store_credit_entries"} & tables
        columns = {column["name"] for column in sa.inspect(engine).get_columns("refunds")}
        assert "store_credit_value" not in columns
        migrate(engine)
        inspector = sa.inspect(engine)
        assert {"store_credit_accounts", "store_credit_entries"} <= set(inspector.get_table_names())
        merchant_columns = {column["name"] for column in inspector.get_columns("merchants")}
        assert "store_credit_validity_days" in merchant_columns
    finally:
        engine.dispose()
