"""API Gateway HTTP API (payload 2.0) events and a Lambda context for tests.

``http_event`` builds the same event the local server sends, so a unit test
that calls ``lambda_handler`` directly gets the event API Gateway delivers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from infra.local.events import LambdaContext, build_http_api_event

__all__ = [
    "LambdaContext",
    "http_event",
    "json_event",
    "csv_event",
    "multipart_event",
    "multipart_body",
    "lambda_context",
]


def lambda_context(function_name: str = "dashboard") -> LambdaContext:
    """Return a fresh Lambda context with a new request id."""
    return LambdaContext(function_name)


def http_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | Iterable[tuple[str, str]] | str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a payload-2.0 event; ``route_key`` defaults to ``"METHOD path"``."""
    raw_query = query if isinstance(query, str) else urlencode(list(_pairs(query)))
    return build_http_api_event(
        method,
        path,
        raw_query_string=raw_query,
        headers=headers,
        body=body,
        route_key=route_key or f"{method.upper()} {path}",
        path_parameters=path_parameters,
        claims=claims,
    )


def _pairs(
    items: Mapping[str, str] | Iterable[tuple[str, str]],
) -> Iterable[tuple[str, str]]:
    return items.items() if isinstance(items, Mapping) else items


def json_event(path: str, payload: Any, **options: Any) -> dict[str, Any]:
    """Build a POST with a JSON body (delivered as text, as API Gateway does)."""
    body = json.dumps(payload).encode("utf-8")
    return http_event(
        "POST", path, headers={"content-type": "application/json"}, body=body, **options
    )


def csv_event(
    path: str, csv_text: str | bytes, *, content_type: str = "text/csv", **options: Any
) -> dict[str, Any]:
    """Build a POST with a CSV body (text when it is UTF-8, base64 otherwise)."""
    body = csv_text.encode("utf-8") if isinstance(csv_text, str) else csv_text
    return http_event(
        "POST", path, headers={"content-type": content_type}, body=body, **options
    )


def multipart_body(
    files: Mapping[str, tuple[str, bytes, str]],
    fields: Mapping[str, str] | None = None,
    *,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """Encode a browser-style form upload; return the body and its Content-Type.

    ``files`` maps a field name to (file name, content, content type).
    """
    boundary = boundary or f"----form{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}";'
            f' filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def multipart_event(
    path: str,
    files: Mapping[str, tuple[str, bytes, str]],
    fields: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Build a POST form upload (always base64, as API Gateway delivers it)."""
    body, content_type = multipart_body(files, fields)
    return http_event(
        "POST", path, headers={"content-type": content_type}, body=body, **options
    )
