"""A failed statement's error as logs and traces show it: without the values the server
quotes back.

``hide_parameters`` keeps a statement's bound parameters out of its error, but
PostgreSQL's own message quotes values too: a unique violation's DETAIL names the key
(``Key (email)=(mia@example.com) already exists``: staff e-mails, gift-card tokens), a
not-null or check violation's DETAIL the whole failing row, and a data exception (SQLSTATE
class 22) quotes the text it could not read in its first line. Every driver error of an
engine passes through ``install``'s listener, which rewrites what ``str()`` shows of the
driver's error and of SQLAlchemy's wrapping of it (the two a logged traceback prints): the
first line, the SQLSTATE and the constraint's name, and no DETAIL. The error keeps its
type and its ``diag`` (``sqlstate``, ``constraint_name``, and the detail for code that
needs it), so whatever inspects it still can.
"""

from __future__ import annotations

import re

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

DATA_EXCEPTION_CLASS = "22"
_QUOTED = re.compile(r'"[^"]*"')


def install(engine: Engine) -> None:
    # Inserted first, so the error is rewritten whatever a later listener makes of it
    # (``outages`` raises DatabaseUnavailable from this same driver error).
    event.listen(engine, "handle_error", _without_values, insert=True)


def _without_values(context: ExceptionContext) -> None:
    error = context.original_exception
    shown = str(error)
    kept = shown_without_values(error)
    if kept is None or kept == shown:
        return
    error.args = (kept,)
    wrapper = context.sqlalchemy_exception
    if wrapper is not None and wrapper.args and isinstance(wrapper.args[0], str):
        # SQLAlchemy copied the driver's text into its own message when it wrapped it.
        wrapper.args = (wrapper.args[0].replace(shown, kept), *wrapper.args[1:])


def shown_without_values(error: BaseException) -> str | None:
    """What ``error`` may show of itself, or ``None`` if it is not a server's error
    (sqlite3's and libpq's connection errors quote no stored value)."""
    if getattr(error, "pgresult", None) is None:
        return None
    diag = error.diag  # type: ignore[attr-defined]  # psycopg's, checked by pgresult
    first_line = diag.message_primary or str(error).split("\n", 1)[0]
    sqlstate = diag.sqlstate or ""
    if sqlstate.startswith(DATA_EXCEPTION_CLASS):
        first_line = _QUOTED.sub('"..."', first_line)
    told = [f"SQLSTATE {sqlstate}"] if sqlstate else []
    if diag.constraint_name:
        told.append(f"constraint {diag.constraint_name}")
    if diag.message_detail:
        told.append("its DETAIL left out: it can quote customers' values")
    return f"{first_line} ({'; '.join(told)})" if told else first_line
