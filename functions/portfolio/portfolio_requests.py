"""Read the caller's identity and a portfolio upload out of an API Gateway event.

The owner is the ``sub`` claim that the JWT authorizer verified and placed at
``requestContext.authorizer.jwt.claims``. Nothing in the body, path, query or
headers can change it.

A portfolio body has the dashboard routes' formats plus the portfolio's name,
module and currency. A JSON body carries them as top-level fields, a
multipart upload as form fields, and a raw ``text/csv`` body as query
parameters. A currency column also sets the currency. ``module`` defaults to
``natural_capital``. The query string's option flags override the body's,
as on the dashboard routes.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from nature_risk.config import InputLimits
from nature_risk.errors import (
    InputError,
    PayloadTooLarge,
    PreconditionRequired,
    Problem,
    Unauthorized,
)
from nature_risk.json_input import load_json
from nature_risk.portfolio_modules import get_module
from nature_risk.storage.cursors import InvalidCursor
from nature_risk.storage.portfolios import PortfolioDraft
from nature_risk.text_encoding import is_utf8_encodable, unencodable_path

DEFAULT_MODULE = "natural_capital"
MAX_SUBJECT_LENGTH = 255
MAX_FIELD_BYTES = 4096
PORTFOLIO_FIELDS = ("name", "module", "currency")
_SIGNED_DIGITS = re.compile(r"(-?)([0-9]+)")


def owner_of(event: APIGatewayProxyEventV2) -> str:
    """Return the verified ``sub`` claim; raise ``Unauthorized`` without one."""
    request_context = event.raw_event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    subject = claims.get("sub") if isinstance(claims, Mapping) else None
    if not is_valid_subject(subject):
        raise Unauthorized("Sign in to use saved portfolios.")
    return subject  # type: ignore[return-value] - is_valid_subject checked the type


def is_valid_subject(subject: object) -> bool:
    """Tell whether a token subject can own portfolios.

    The subject is stored and compared as UTF-8 text, so it must be 1 to
    ``MAX_SUBJECT_LENGTH`` characters without control characters (PostgreSQL
    rejects NUL) and without text UTF-8 cannot encode. Cognito subjects are
    UUIDs, so only a broken or foreign token fails this check.
    """
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        return False
    if not is_utf8_encodable(subject):
        return False
    return not any(unicodedata.category(character) == "Cc" for character in subject)


def read_body(event: APIGatewayProxyEventV2, limits: InputLimits) -> bytes:
    """Return the request body's bytes, decoding the base64 API Gateway applied."""
    raw = event.body or ""
    too_large = PayloadTooLarge(
        f"The request body is larger than the limit of {limits.max_body_bytes} "
        "bytes (MAX_BODY_BYTES)."
    )
    if event.is_base64_encoded:
        if len(raw) > 4 * ((limits.max_body_bytes + 2) // 3) + 2:
            raise too_large
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                "The request body is not valid base64.",
                [Problem(field="body", reason="invalid base64")],
            ) from None
    else:
        body = raw.encode("utf-8", "surrogatepass")
    if len(body) > limits.max_body_bytes:
        raise too_large
    return body


def _json_fields(body: bytes) -> dict[str, Any]:
    try:
        document = load_json(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError(
            "The body is not valid JSON.",
            [Problem(field="body", reason="invalid JSON")],
        ) from None
    if not isinstance(document, dict):
        raise InputError(
            "The JSON body must be an object with name, module and holdings.",
            [Problem(field="body", reason="not an object")],
        )
    fields = {key: document.get(key) for key in PORTFOLIO_FIELDS}
    # The module's parser checks the holdings and options the same way.
    for key, value in fields.items():
        if unencodable_path(value) is not None:
            raise InputError(
                f"The field '{key}' contains an unpaired surrogate such as \\ud800,"
                " which is not valid Unicode. Send the text as UTF-8.",
                [Problem(field=key, reason="unpaired surrogate")],
            )
    return fields


def _multipart_fields(body: bytes, content_type: str) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        header + body
    )
    fields: dict[str, Any] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        if part.get_filename() is not None:
            continue
        name = part.get_param("name", header="content-disposition")
        if name not in PORTFOLIO_FIELDS or name in fields:
            continue
        content = part.get_payload(decode=True) or b""
        if len(content) > MAX_FIELD_BYTES:
            raise InputError(
                f"The form field '{name}' is longer than {MAX_FIELD_BYTES} bytes.",
                [Problem(field=str(name), reason="too long")],
            )
        try:
            fields[str(name)] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(
                f"The form field '{name}' is not valid UTF-8.",
                [Problem(field=str(name), reason="invalid UTF-8")],
            ) from None
    return fields


def portfolio_fields(
    event: APIGatewayProxyEventV2, body: bytes, content_type: str
) -> dict[str, Any]:
    """Return the name, module and currency the request states, where it has them."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return _json_fields(body)
    if media_type == "multipart/form-data":
        return _multipart_fields(body, content_type)
    return {key: query_value(event, key) for key in PORTFOLIO_FIELDS}


def query_value(event: APIGatewayProxyEventV2, name: str) -> str | None:
    """Read a query parameter, percent-decoded strictly as UTF-8.

    API Gateway's ``queryStringParameters`` may have replaced invalid UTF-8
    with U+FFFD, so the value is decoded again from ``rawQueryString``.
    Raises ``InputError`` naming the parameter when its value is not UTF-8,
    and ``RequestValidationError`` (422, "must be given once", as on the
    dashboard routes) when the parameter is repeated.
    """
    raw = event.raw_event.get("rawQueryString")
    if not isinstance(raw, str):
        return (event.query_string_parameters or {}).get(name)
    values = []
    for pair in raw.split("&"):
        key, _, value = pair.partition("=")
        if urllib.parse.unquote_plus(key, errors="replace") != name:
            continue
        try:
            values.append(urllib.parse.unquote_plus(value, errors="strict"))
        except UnicodeDecodeError:
            raise InputError(
                f"The query parameter '{name}' is not valid percent-encoded UTF-8.",
                [Problem(field=name, reason="invalid UTF-8")],
            ) from None
    if len(values) > 1:
        # pydantic's error for a list given to a text parameter, which the
        # resolver reports as "must be given once".
        raise RequestValidationError([{"loc": ("query", name), "type": "string_type"}])
    return values[0] if values else None


def _invalid_limit(error_type: str, context: dict[str, int]) -> RequestValidationError:
    # Pydantic's error types for an invalid integer parameter, which the
    # resolver reports as on the dashboard routes ("must be at most 100").
    return RequestValidationError(
        [{"loc": ("query", "limit"), "type": error_type, "ctx": context}]
    )


def page_size(event: APIGatewayProxyEventV2, default: int, maximum: int) -> int:
    """Read the ``limit`` query parameter: a whole number from 1 to ``maximum``.

    Only ASCII digits with an optional minus sign are read, because ``int()``
    also reads non-ASCII digits, spaces and underscores. An invalid value
    raises ``RequestValidationError`` (422) stating what the value must be.
    """
    try:
        raw = query_value(event, "limit")
    except InputError:
        raise _invalid_limit("int_parsing", {}) from None
    if raw is None:
        return default
    number = _SIGNED_DIGITS.fullmatch(raw)
    if number is None:
        raise _invalid_limit("int_parsing", {})
    digits = number.group(2).lstrip("0")
    if number.group(1) or not digits:
        raise _invalid_limit("greater_than_equal", {"ge": 1})
    # Counting digits first keeps int() away from its 4,300-digit limit.
    if len(digits) > len(str(maximum)) or int(digits) > maximum:
        raise _invalid_limit("less_than_equal", {"le": maximum})
    return int(digits)


def cursor_value(event: APIGatewayProxyEventV2) -> str | None:
    """Read the ``cursor`` query parameter, or None when it is absent or empty.

    Text that is not UTF-8 cannot be a cursor this function wrote, so it
    raises the ``InvalidCursor`` (422) of any other invalid cursor.
    """
    try:
        return query_value(event, "cursor") or None
    except InputError:
        raise InvalidCursor() from None


def read_draft(
    event: APIGatewayProxyEventV2,
    limits: InputLimits,
    query_flags: Mapping[str, bool | None] | None = None,
) -> PortfolioDraft:
    """Parse a create or replace request into a draft, with the module's parser.

    ``query_flags`` are the option flags of the query string, None where
    absent. Each one the module reads overrides the body's flag, and the
    others are ignored, as the public dashboard routes ignore them.
    """
    body = read_body(event, limits)
    content_type = event.headers.get("content-type") or ""
    fields = portfolio_fields(event, body, content_type)
    module = get_module(fields.get("module") or DEFAULT_MODULE)
    # A raw CSV body's query parameters stand for the form fields a multipart
    # upload carries, so the parser checks the currency against the file the
    # same way: its column, its amount header and currencies in its cells.
    # JSON and multipart bodies carry their own fields, and the parser ignores
    # this one for them.
    declared = {"currency": fields.get("currency")}
    parsed = module.parse(body, content_type, limits, declared)
    if parsed.currency is None:
        raise InputError(
            "The portfolio has no currency: add a currency field or column.",
            [Problem(field="currency", reason="missing")],
        )
    options = module.with_query_flags(parsed.options, query_flags or {})
    return PortfolioDraft(
        name=fields.get("name"),  # type: ignore[arg-type] - validated on save
        module=module.name,
        currency=parsed.currency,
        holdings=parsed.records,
        options=options,
        records_field=parsed.records_field,
    )


# RFC 9110, section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where
# etagc is %x21 / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_LIST_SPACE = re.compile(r"[ \t,]*")
# The opaque part of an ETag this function sends: a version from 1, with at
# most nine digits so it fits a PostgreSQL integer.
_VERSION_TAG = re.compile(r"[1-9][0-9]{0,8}")


def parse_entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """Parse an ``If-Match`` list into (weak, opaque tag) pairs.

    Elements are separated by commas with optional spaces or tabs, and empty
    elements are skipped, as RFC 9110 section 5.6.1 requires of recipients.
    Returns None when the value is not a list of entity tags.
    """
    tags: list[tuple[bool, str]] = []
    position = _LIST_SPACE.match(value, 0).end()  # type: ignore[union-attr]
    while position < len(value):
        tag = _ENTITY_TAG.match(value, position)
        if tag is None:
            return None
        tags.append((tag.group(1) is not None, tag.group(2)))
        position = tag.end()
        after = _LIST_SPACE.match(value, position).end()  # type: ignore[union-attr]
        if after < len(value) and "," not in value[position:after]:
            return None
        position = after
    return tags


def expected_version(
    event: APIGatewayProxyEventV2, *, required: bool
) -> list[int] | None:
    """Read the versions ``If-Match`` names (ETags such as ``"3"``).

    The header is one entity tag or a comma-separated list (RFC 9110,
    section 13.1.1), and the request's condition holds when the stored version
    matches any listed tag. Matching is strong: a weak tag (``W/"3"``) and a
    tag this function never sends (``"03"``) match nothing. A malformed
    header, such as ``3`` or ``"3``, and a present but empty one return an
    empty list, which matches no stored version (412). A missing header
    raises ``PreconditionRequired`` when ``required``, and so does ``*``,
    because an update must name the version it replaces. Otherwise both
    return None: ``*`` matches any current version (RFC 9110, section
    13.1.1), so it checks no version.
    """
    header = event.headers.get("if-match")
    value = (header or "").strip(" \t")
    if header is not None and not value:
        # A present but empty list names no tag, so it matches nothing.
        return []
    if not value:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the portfolio's ETag to update it."
            )
        return None
    if value == "*":
        if not required:
            return None
        raise PreconditionRequired(
            "If-Match must be the portfolio's ETag, not *: read the portfolio first."
        )
    tags = parse_entity_tags(value) or []
    return [
        int(opaque)
        for weak, opaque in tags
        if not weak and _VERSION_TAG.fullmatch(opaque)
    ]


def etag(version: int) -> str:
    """Format a portfolio version as a strong ETag."""
    return f'"{version}"'
