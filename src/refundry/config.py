"""Settings, read once from the environment (``REFUNDRY_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///refundry.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Signs refund quotes; when unset, a key generated at migration and kept in the
    # database is used, so every process on one database agrees.
    secret_key: str | None = None
    quote_ttl_seconds: int = 1800

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("REFUNDRY_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=os.environ.get("REFUNDRY_SECRET_KEY") or None,
            quote_ttl_seconds=int(os.environ.get("REFUNDRY_QUOTE_TTL_SECONDS", "1800")),
        )
