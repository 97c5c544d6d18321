"""Read a portfolio upload out of an API Gateway event.

Dashboard routes accept ``application/json``, ``text/csv`` (as text or base64,
as API Gateway delivers it) and ``multipart/form-data`` (a browser's file
upload, always base64). The size limit is checked on the encoded body before
any decoding, and again on the decoded bytes. The portfolio parsers in the
layer read the decoded body, the multipart parts included.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

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


class Upload(NamedTuple):
    """A portfolio upload: the decoded body and its full Content-Type value.

    The Content-Type keeps its parameters, because a multipart body needs its
    boundary and a CSV body may name its charset.
    """

    body: bytes
    content_type: str


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


def read_upload(event: APIGatewayProxyEventV2, limits: InputLimits) -> Upload:
    """Read a dashboard request's body and Content-Type for the portfolio parser.

    Raises ``UnsupportedMediaType`` (415) for any Content-Type but JSON, CSV
    and multipart, before the body is decoded, then as ``read_body`` does.
    """
    content_type = event.headers.get("content-type") or ""
    if media_type_of(content_type) not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Content-Type must be application/json, text/csv or multipart/form-data."
        )
    body = read_body(event, limits)
    if not body.strip():
        raise InputError(
            "The request body is empty: send the portfolio as JSON, CSV or a file.",
            [Problem(reason="missing", field="body")],
        )
    return Upload(body=body, content_type=content_type)
