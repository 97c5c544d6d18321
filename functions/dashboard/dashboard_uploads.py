"""Read a portfolio upload out of an API Gateway event.

Dashboard routes accept ``application/json``, ``text/csv`` (as text or base64,
as API Gateway delivers it) and ``multipart/form-data`` (a browser's file
upload, always base64). The size limit is checked on the encoded body before
any decoding, and again on the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
from dataclasses import dataclass, field
from email.message import Message

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from nature_risk.config import InputLimits
from nature_risk.errors import (
    InputError,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
)

JSON = "application/json"
CSV = "text/csv"
MULTIPART = "multipart/form-data"
ACCEPTED_MEDIA_TYPES = (JSON, CSV, MULTIPART)

# The multipart part that carries the portfolio file.
FILE_FIELD = "file"
# Form fields that are not the file but are short option values.
MAX_FIELD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Upload:
    """A portfolio upload: the portfolio's bytes, its media type, the form fields."""

    content: bytes
    media_type: str
    fields: dict[str, str] = field(default_factory=dict)


def media_type_of(content_type: str | None) -> str:
    """Return the lower-cased media type of a Content-Type value, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _max_base64_length(max_bytes: int) -> int:
    # Four characters per three bytes, padded, plus room for a trailing newline.
    return 4 * ((max_bytes + 2) // 3) + 2


def _too_large(limits: InputLimits) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than the limit of {limits.max_body_bytes} bytes"
        " (MAX_BODY_BYTES)."
    )


def read_body(event: APIGatewayProxyEventV2, limits: InputLimits) -> bytes:
    """Return the raw request body, decoding base64 when API Gateway applied it.

    Raises ``PayloadTooLarge`` before decoding when the encoded body cannot
    fit the limit, and ``InputError`` when the body is not valid base64.
    """
    raw = event.body or ""
    if event.is_base64_encoded:
        if len(raw) > _max_base64_length(limits.max_body_bytes):
            raise _too_large(limits)
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                "The request body is not valid base64.",
                [Problem(reason="invalid base64", field="body")],
            ) from None
    else:
        # A text body is UTF-8, so its character count bounds its byte count from below.
        if len(raw) > limits.max_body_bytes:
            raise _too_large(limits)
        body = raw.encode("utf-8", errors="surrogatepass")
    if len(body) > limits.max_body_bytes:
        raise _too_large(limits)
    return body


def read_upload(
    event: APIGatewayProxyEventV2,
    limits: InputLimits,
    option_fields: frozenset[str] = frozenset(),
) -> Upload:
    """Read the portfolio upload of a dashboard request.

    Multipart fields named in ``option_fields`` are kept in ``Upload.fields``;
    any other field but the file is ignored, as form submit buttons send some.

    Raises ``UnsupportedMediaType`` (415) for any other Content-Type,
    ``PayloadTooLarge`` (413) and ``InputError`` (400) for a bad body.
    """
    content_type = event.headers.get("content-type") or ""
    media_type = media_type_of(content_type)
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Content-Type must be application/json, text/csv or multipart/form-data."
        )

    body = read_body(event, limits)
    if not body.strip():
        raise InputError(
            "The request body is empty.", [Problem(reason="missing", field="body")]
        )
    if media_type == MULTIPART:
        return _read_multipart(content_type, body, option_fields)
    return Upload(content=body, media_type=media_type)


def _read_multipart(
    content_type: str, body: bytes, option_fields: frozenset[str]
) -> Upload:
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n"
    try:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            header.encode("utf-8", errors="replace") + body
        )
    except (ValueError, TypeError, LookupError):
        message = None
    if message is None or not message.is_multipart() or message.defects:
        raise InputError(
            "The multipart/form-data body is invalid: it needs a boundary and"
            " well-formed parts.",
            [Problem(reason="invalid multipart body", field="body")],
        )

    file_part: Message | None = None
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        if name == FILE_FIELD or part.get_filename():
            if file_part is not None:
                raise InputError(
                    "Send exactly one file in the multipart body.",
                    [Problem(reason="more than one file", field=FILE_FIELD)],
                )
            file_part = part
            continue
        if name in option_fields:
            fields[name] = _field_text(name, part)

    if file_part is None:
        raise InputError(
            "The multipart body has no file part: send the portfolio as field"
            f" '{FILE_FIELD}'.",
            [Problem(reason="missing", field=FILE_FIELD)],
        )
    content = file_part.get_payload(decode=True)
    if not isinstance(content, bytes) or not content.strip():
        raise InputError(
            "The uploaded file is empty.", [Problem(reason="missing", field=FILE_FIELD)]
        )
    declared = media_type_of(file_part.get_content_type())
    # Browsers label .csv files in many ways (text/csv, application/vnd.ms-excel,
    # application/octet-stream), so anything but JSON is read as CSV.
    media_type = JSON if declared == JSON else CSV
    return Upload(content=content, media_type=media_type, fields=fields)


def _field_text(name: str, part: Message) -> str:
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    if len(raw) > MAX_FIELD_BYTES:
        raise InputError(
            f"The form field '{name}' is longer than {MAX_FIELD_BYTES} bytes.",
            [Problem(reason="too long", field=name)],
        )
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InputError(
            f"The form field '{name}' is not UTF-8 text.",
            [Problem(reason="not UTF-8", field=name)],
        ) from None


def parse_flag(value: object, name: str) -> bool:
    """Read an option flag from a form field or JSON value (true/false, 1/0, yes/no)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "yes", "on"}:
            return True
        if text in {"false", "0", "no", "off", ""}:
            return False
    raise InputError(
        f"The option '{name}' must be true or false.",
        [Problem(reason="must be true or false", field=name)],
    )
