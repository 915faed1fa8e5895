"""The database a CLI command works on, for the commands that work on data already there.

Opening a SQLite file creates it: ``refundry verify`` run beside the demo, whose database
is another file, used to create an empty ``refundry.db`` and report "no drift". These
commands refuse a SQLite file that does not exist instead, and say where to look; the
commands that set a database up (``migrate``, ``merchants create``, ``seed``, ``serve``,
``worker``, ``demo``) still create it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from refundry.bootstrap import Container, bootstrap
from refundry.config import Settings


class NoDatabase(Exception):
    """The command's SQLite file does not exist (a user's mistake, told in one line)."""


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; ``None`` for another database or an in-memory one."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else Path(name)


def existing_database() -> Container:
    """``bootstrap()``, refusing a SQLite file that does not exist rather than creating
    an empty one to work on."""
    settings = Settings.from_env()
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise NoDatabase(
            f"no database at {path.absolute()}: set REFUNDRY_DATABASE_URL to yours "
            "(`refundry demo` prints the one for its database), or create one with "
            "`refundry migrate`"
        )
    return bootstrap(settings)
