"""Build a marked API Gateway event for a canary case, run it, capture the output.

Every request, whatever its case, also carries marked custom headers, cookies,
a marked user agent, a marked bearer token and marked query parameters (names
and values), so each route is checked against those for free.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.events import LambdaContext, build_http_api_event
from tests.canary.capture import capture_output
from tests.canary.markers import Markers

_request_numbers = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the caller sends it."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    path_parameters: dict[str, str] | None = None
    claims: dict[str, Any] | None = None


# A patch makes the case's failure happen (a domain exception, a database
# error) before the handler runs. It receives the loaded function module.
Patch = Callable[[pytest.MonkeyPatch, Markers, ModuleType], None]


@dataclass(frozen=True)
class CanaryCase:
    """One call of one route with marked input, and the statuses it may return."""

    route: str
    kind: str
    build: Callable[[Markers], Request]
    statuses: frozenset[int]
    patch: Patch | None = None

    @property
    def id(self) -> str:
        return f"{self.route} [{self.kind}]"


@dataclass(frozen=True)
class ScheduledCase:
    """Invocations of a scheduled function, in order, with marked stored data.

    ``raises`` states whether the last invocation must raise ``InvocationFailed``.
    """

    kind: str
    build: Callable[[Markers], list[dict[str, Any]]]
    raises: bool
    patch: Patch | None = None
    route: str = "scheduled"

    @property
    def id(self) -> str:
        return f"{self.route} [{self.kind}]"


def hostile_request(request: Request, markers: Markers) -> Request:
    """Add marked headers, cookies, token and query parameters to ``request``."""
    headers = [
        *request.headers,
        ("user-agent", markers.new("Mozilla/5.0 ")),
        ("x-correlation-id", markers.new()),
        ("x-company", markers.new()),
        ("referer", f"https://127.0.0.1/{markers.new()}"),
        ("cookie", f"session={markers.new()}; theme={markers.new()}"),
    ]
    if not any(name.lower() == "authorization" for name, _ in headers):
        headers.append(("authorization", f"Bearer {markers.new()}"))
    query = [*request.query, (markers.new("x"), markers.new()), ("q2", markers.new())]
    return Request(
        method=request.method,
        path=request.path,
        query=query,
        headers=headers,
        body=request.body,
        path_parameters=request.path_parameters,
        claims=request.claims,
    )


def build_event(case: CanaryCase, markers: Markers) -> dict[str, Any]:
    """Build the payload-2.0 event API Gateway would send for ``case``."""
    request = hostile_request(case.build(markers), markers)
    event = build_http_api_event(
        request.method,
        request.path,
        raw_query_string=urlencode(request.query),
        headers=request.headers,
        body=request.body,
        route_key=case.route,
        path_parameters=request.path_parameters,
        claims=request.claims,
    )
    # The request id is ours, so a random id cannot look like a marker piece.
    event["requestContext"]["requestId"] = f"canary-{next(_request_numbers):06d}"
    return event


@dataclass
class Outcome:
    """What a case produced: the response or the raised error, and all output."""

    response: Any
    error: BaseException | None
    output: str


def runtime_error_output(error: BaseException) -> str:
    """Return what the Lambda runtime prints for an uncaught exception."""
    return f"{type(error).__name__}: {error}\n" + "".join(
        traceback.format_exception(error)
    )


def invoke(
    module: ModuleType,
    event: dict[str, Any],
    function_name: str,
) -> Outcome:
    """Run ``module.lambda_handler`` on ``event`` and capture everything written."""
    error: BaseException | None = None
    response: Any = None
    with capture_output() as output:
        try:
            response = module.lambda_handler(event, LambdaContext(function_name))
        except Exception as raised:  # noqa: BLE001 - the runtime's view is checked
            error = raised
    text = output.getvalue()
    if error is not None:
        text += runtime_error_output(error)
    return Outcome(response=response, error=error, output=text)
