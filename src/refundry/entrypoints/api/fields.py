"""The field types every request model is built from: amounts, quantities, times and
text as the API accepts them, each saying in the OpenAPI schema what it checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from refundry.domain.money import known_currency_codes

# Large enough for any real order in any currency, small enough for a BIGINT sum.
MAX_MINOR = 10**15
MAX_QUANTITY = 1_000_000


def _whole_number(value: object) -> object:
    """JSON has one number type, and JSON Schema's ``integer`` (OpenAPI 3.1) is any number
    without a fraction: ``3.0`` is the integer 3. Strict fields still refuse "3" and true."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)
"""After ``Field(strict=True, ...)`` in every integer a request body carries."""

Minor = Annotated[
    int, Field(strict=True, ge=0, le=MAX_MINOR, description="minor units"), WholeNumber
]


def _written_time(value: object) -> object:
    """A time in a request is an RFC 3339 string, as the schema says; pydantic would also
    take a number, as seconds since 1970."""
    if not isinstance(value, str | datetime):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_written_time)]
"""A time a request carries: with its offset, written out."""
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY), WholeNumber]

ConstrainedStr = TypeVar("ConstrainedStr", bound=str)


def _refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError(
            "string_nul_character", "String should not contain the NUL character (\\u0000)"
        )
    return text


NO_NUL_PATTERN = r"^[^\x00]*$"


class _NulInSchema:
    """Says in the OpenAPI schema what ``_refuse_nul`` checks: a ``pattern`` without NUL.
    A field with a pattern of its own spells the NUL out of that pattern instead."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema.setdefault("pattern", NO_NUL_PATTERN)
        return schema


Text = Annotated[ConstrainedStr, AfterValidator(_refuse_nul), _NulInSchema()]
"""Every string a request carries in its body or query: ``Text[Annotated[str, Field(...)]]``
(in its path: ``PathText``).

PostgreSQL text cannot hold NUL, so a NUL is refused here as a field error (422) rather
than reaching the database as a 500, and the schema says so. The check wraps the
constrained ``str`` so that it comes after the constraints, which keep their own messages
and OpenAPI keywords.
"""

PathText = Annotated[ConstrainedStr, AfterValidator(_refuse_nul)]
"""``Text`` for a path parameter: the NUL is refused all the same, but the schema does not
spell it: a string parameter with a pattern in the path is one schemathesis cannot make
invalid, so the fuzz test would send none of its invalid values (too long, empty)."""

# Patterns are checked by pydantic (Rust's regex crate) and read by clients as ECMA-262
# regexes (JSON Schema), where ``\s``, ``\S`` and ``.`` match different characters; so a
# pattern spells its classes out. SPACE is every character either engine calls whitespace.
SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL_PATTERN = rf"^[^@\x00{SPACE}]+@[^@\x00{SPACE}]+$"

Reason = Text[Annotated[str, Field(max_length=1000)]]
Text200 = Text[Annotated[str, Field(min_length=1, max_length=200)]]
# Validated by Currency.of (an `unknown-currency` problem); the schema lists the codes.
CurrencyCode = Text[
    Annotated[
        str,
        Field(pattern=r"^[A-Z]{3}$", json_schema_extra={"enum": sorted(known_currency_codes())}),
    ]
]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
