"""No secret in any log line: API keys, webhook signing secrets, bearer tokens and
gift-card link tokens (which open the card) are masked by a filter on every handler
the server and the worker log through, uvicorn's access log included (``log_setup``
puts it there), and in the fields a JSON line carries beside the message."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping

REDACTED = "[redacted]"
SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"rfk_[0-9a-f]+_[A-Za-z0-9_-]+"), f"rfk_{REDACTED}"),  # API keys
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), f"whsec_{REDACTED}"),  # webhook secrets
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/l/)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),  # a gift-card link's page
)


# What every record has; anything else on a record is a field a log call added (``extra``)
# or ``log_setup`` did (the request's id), which a JSON line shows. uvicorn's
# ``color_message`` is its message's format again, with colours.
RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "color_message"}
)


def added_fields(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items() if key not in RECORD_ATTRIBUTES}


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks secrets in the message, in each of its arguments, and in an exception's or a
    stack's text, keeping the arguments' shape: formatters such as uvicorn's access log
    unpack ``record.args`` themselves, so collapsing them would break the line they write.
    It never raises (a filter's error would reach the code that logged) and never drops a
    record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # A record the filter cannot read (its arguments do not fit its format) is passed
        # on as it is, for the handler to report as it always has.
        with contextlib.suppress(Exception):
            self._mask(record)
        return True

    def _mask(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in added_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        message = record.getMessage()
        masked = redact(message)
        if masked == message:
            return
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        if record.name == "uvicorn.access":
            # Its formatter unpacks the arguments: they stay apart, each masked (a secret
            # lies within one of them: the path; "GET /bearer HTTP/1.1" only looks like one).
            return
        try:
            kept_apart = record.getMessage() == masked
        except (TypeError, ValueError, KeyError):
            kept_apart = False
        if not kept_apart:
            # The secret straddles the format and its arguments (a "Bearer %s"): keep the
            # masked text alone, since no formatter can rebuild it from the parts.
            record.msg, record.args = masked, ()
            # uvicorn would format its coloured copy of the format with the args now gone.
            vars(record).pop("color_message", None)


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value
