"""How the server and the worker log: lines for people (the default), or, with
``REFUNDRY_LOG_FORMAT=json``, one JSON object a line for a log pipeline: ``time``,
``level``, ``logger``, ``message``, and the line's fields (the request's id, merchant
and order while a request is served; the method, path and status of an access line; what
a log call adds with ``extra``, such as the worker's outbox topic and order).

One configuration covers the root logger and uvicorn's, so every line, uvicorn's access
line included, passes the request-fields filter and then the secret filter; uvicorn
applies it again in each of its worker processes.
"""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from refundry.config import LOG_FORMATS
from refundry.entrypoints import log_context
from refundry.entrypoints.log_redaction import RedactSecrets, added_fields

TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"


class RequestFields(logging.Filter):
    """Puts the request being served on each record, beside the fields its call gave."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = log_context.current()
        if context is not None:
            for key, value in context.log_fields().items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (newlines in a traceback are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access":
            line.update(_access_fields(record))
        line.update({k: v for k, v in added_fields(record).items() if k not in line})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _access_fields(record: logging.LogRecord) -> dict[str, object]:
    """uvicorn's access line as fields: it logs them as its arguments, in this order."""
    if not isinstance(record.args, tuple) or len(record.args) != 5:
        return {}
    client, method, path, http_version, status = record.args
    return {
        "client": client,
        "method": method,
        "path": path,
        "http_version": http_version,
        "status": status,
    }


def logging_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for a process: uvicorn's own set-up (its access
    line to standard output, the rest to standard error), the root logger beside it, the
    filters on every handler, and JSON formatters when ``log_format`` is ``json``."""
    from uvicorn.config import LOGGING_CONFIG

    if log_format not in LOG_FORMATS:
        raise ValueError(f"the log format is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["refundry"] = {"format": TEXT_FORMAT}
    if log_format == "json":
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    config["handlers"]["refundry"] = {
        "class": "logging.StreamHandler",
        "formatter": "refundry",
        "stream": "ext://sys.stderr",
    }
    # In this order: the request's fields are on the record before secrets are masked.
    config["filters"] = {"request": {"()": RequestFields}, "redact": {"()": RedactSecrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request", "redact"]
    config["root"] = {"handlers": ["refundry"], "level": level}
    for logger in config["loggers"].values():
        logger["level"] = level
    return config


def configure(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """Set this process's logging up; returns the configuration, for uvicorn to apply in
    the processes it starts."""
    config = logging_config(log_format, level)
    logging.config.dictConfig(config)
    return config
