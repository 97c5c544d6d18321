"""Build API Gateway HTTP API events in payload format 2.0.

The local server and the tests build every event here, so handlers get the
shape API Gateway sends. Header names are lower-cased, and repeated headers
and query parameters are joined with commas. Cookies move from the ``Cookie``
header to ``cookies``. The body is text for textual content types and base64
for everything else, binary and ``multipart/form-data`` included.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

ACCOUNT_ID = "123456789012"
API_ID = "localapi"
REGION = "us-east-1"

# Media types whose bodies API Gateway hands over as text. Any other type,
# multipart/form-data included, arrives base64-encoded.
_TEXT_MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-www-form-urlencoded",
        "application/yaml",
    }
)


def is_text_media_type(content_type: str | None) -> bool:
    """Tell whether API Gateway passes a body of ``content_type`` as text."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/"):
        return True
    if media_type.endswith("+json") or media_type.endswith("+xml"):
        return True
    return media_type in _TEXT_MEDIA_TYPES


def encode_body(
    body: bytes | None, content_type: str | None
) -> tuple[str | None, bool]:
    """Return the event's ``body`` and ``isBase64Encoded`` for raw request bytes.

    A textual body that is not valid UTF-8 goes base64, as binary content does.
    """
    if body is None or body == b"":
        return None, False
    if is_text_media_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def join_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names and join repeated ones with commas."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _split_cookies(cookie_header: str | None) -> list[str] | None:
    if not cookie_header:
        return None
    cookies = [part.strip() for part in cookie_header.split(";") if part.strip()]
    return cookies or None


def _query_parameters(raw_query_string: str) -> dict[str, str] | None:
    if not raw_query_string:
        return None
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters[name] = (
            f"{parameters[name]},{value}" if name in parameters else value
        )
    return parameters or None


def _request_id() -> str:
    # API Gateway's request ids are 16 url-safe base64 characters ending in "=".
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")[:15] + "="


def build_http_api_event(
    method: str,
    raw_path: str,
    *,
    raw_query_string: str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    domain_name: str = "localhost",
    now: float | None = None,
) -> dict[str, Any]:
    """Build one payload-2.0 event for a request as API Gateway would deliver it.

    ``headers`` may repeat a name when given as pairs. ``claims`` become
    ``requestContext.authorizer.jwt.claims``, as a JWT authorizer sets them.
    """
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    joined = join_headers(pairs)
    cookies = _split_cookies(joined.pop("cookie", None))
    joined.setdefault("host", domain_name)
    joined.setdefault("x-forwarded-for", source_ip)
    joined.setdefault("x-forwarded-proto", "http")
    if body:
        joined.setdefault("content-length", str(len(body)))

    event_body, is_base64 = encode_body(body, joined.get("content-type"))
    timestamp = time.time() if now is None else now
    domain = joined["host"]

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method.upper(),
                "path": unquote(raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": _request_id(),
            "routeKey": route_key,
            "stage": "$default",
            "time": formatdate(timestamp, usegmt=True),
            "timeEpoch": int(timestamp * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies is not None:
        event["cookies"] = cookies
    query = _query_parameters(raw_query_string)
    if query is not None:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": dict(claims), "scopes": None}
        }
    if event_body is not None:
        event["body"] = event_body
    return event


class LambdaContext:
    """The attributes of the Lambda context object that handlers read."""

    def __init__(
        self,
        function_name: str,
        *,
        memory_limit_in_mb: int = 1024,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
