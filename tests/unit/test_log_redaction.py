"""The log filter masks secrets without breaking the record's shape: formatters that
unpack ``record.args`` themselves (uvicorn's access log) still get their tuple."""

from __future__ import annotations

import logging
import sys

from refundry.entrypoints.log_redaction import RedactSecrets

KEY = "rfk_0123456789abcdef0123456789abcdef_s3cr_et-part"


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)


def test_a_secret_in_an_argument_is_masked_and_the_arguments_keep_their_shape() -> None:
    entry = record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/l/tok_en-123", "1.1", 410)
    assert RedactSecrets().filter(entry)
    assert isinstance(entry.args, tuple)
    assert len(entry.args) == 5  # what uvicorn's access formatter unpacks
    assert entry.getMessage() == '127.0.0.1:1 - "GET /l/[redacted] HTTP/1.1" 410'


def test_a_secret_in_the_message_itself_is_masked() -> None:
    entry = record(f"made merchant with key {KEY}")
    RedactSecrets().filter(entry)
    assert entry.getMessage() == "made merchant with key rfk_[redacted]"


def test_a_secret_split_between_format_and_argument_is_masked_whole() -> None:
    entry = record("Authorization: Bearer %s", "abc.def")
    RedactSecrets().filter(entry)
    assert entry.getMessage() == "Authorization: Bearer [redacted]"
    assert "abc.def" not in entry.getMessage()


def test_a_record_without_secrets_is_left_alone() -> None:
    entry = record("refund %s completed", "r-1")
    RedactSecrets().filter(entry)
    assert (entry.msg, entry.args) == ("refund %s completed", ("r-1",))


def test_an_access_line_that_only_looks_like_a_bearer_keeps_its_arguments() -> None:
    entry = record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/bearer", "1.1", 404)
    entry.name = "uvicorn.access"
    RedactSecrets().filter(entry)
    assert isinstance(entry.args, tuple)
    assert len(entry.args) == 5


def test_a_secret_in_an_exception_is_masked_in_its_traceback() -> None:
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        entry = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactSecrets().filter(entry)
    written = logging.Formatter().format(entry)
    assert "s3cr_et-part" not in written
    assert "rfk_[redacted]" in written


def test_a_record_the_filter_cannot_format_is_passed_on_not_raised() -> None:
    entry = record("%d units", "many")
    assert RedactSecrets().filter(entry)


def test_a_record_kept_as_masked_text_drops_uvicorns_coloured_format() -> None:
    from uvicorn.logging import DefaultFormatter

    entry = record("Authorization: Bearer %s", "abc.def")
    entry.color_message = "Authorization: \x1b[1mBearer %s\x1b[0m"  # as uvicorn adds it
    RedactSecrets().filter(entry)
    # its arguments are gone, so the coloured format would no longer fit them
    written = DefaultFormatter("%(message)s", use_colors=True).format(entry)
    assert written == "Authorization: Bearer [redacted]"
