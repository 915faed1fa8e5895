"""JSON text as Refundry writes it: every response body, stored idempotent response and
webhook payload goes through ``dump_json``, so they read alike byte for byte."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dump_json(body: dict[str, Any]) -> str:
    # orjson writes the same compact JSON several times faster (every response body and
    # webhook payload goes through here), though it keeps non-ASCII text as UTF-8 rather
    # than \u escapes. It refuses integers beyond 64 bits, which the standard library
    # writes.
    try:
        return orjson.dumps(body).decode()
    except TypeError:
        return json.dumps(body, separators=(",", ":"))
