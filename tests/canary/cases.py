"""The canary cases, by function and route key.

``test_every_route_has_canary_cases`` loads every ``functions/*/app.py``, lists
the routes its resolver registers and fails for a route without a case here,
or without the case kinds its method requires (``REQUIRED_KINDS``). A new
route is finished when its cases are added below.
"""

from __future__ import annotations

import json
import sys
from types import ModuleType

import pytest

from tests.canary.markers import Markers
from tests.canary.runner import CanaryCase, Request, ScheduledCase

OK = frozenset({200})
CLIENT_ERRORS = frozenset({400, 404, 413, 415, 422})
SERVER_ERROR = frozenset({500})

# Case kinds each route must have, by HTTP method. Routes with a path
# parameter also need "path_parameter"; routes of functions with a database
# also need "database_error" (see DATABASE_FUNCTIONS).
REQUIRED_KINDS = {
    "GET": {"valid"},
    "DELETE": {"valid"},
    "POST": {"valid", "malformed_json", "wrong_types", "oversize", "deep_error"},
    "PUT": {"valid", "malformed_json", "wrong_types", "oversize", "deep_error"},
}
# Upload routes take CSV and multipart bodies as well as JSON.
UPLOAD_KINDS = {"broken_csv", "csv_headers", "multipart"}
DATABASE_FUNCTIONS = {"portfolio"}


def _module(name: str) -> ModuleType:
    return sys.modules[name]


def raise_deep(error: Exception):
    """Return a stand-in that raises ``error`` two calls down, as domain code would."""

    def inner(*args, **kwargs):
        raise error

    def outer(*args, **kwargs):
        return inner(*args, **kwargs)

    return outer


def _get(path: str, query: list[tuple[str, str]] | None = None) -> Request:
    return Request("GET", path, query=query or [])


def _marked_template_request(markers: Markers) -> Request:
    file_name = f"{markers.new()}.csv"
    return Request(
        "GET", f"/templates/{file_name}", path_parameters={"module": file_name}
    )


def _knowledge_base_fails(
    monkeypatch: pytest.MonkeyPatch, markers: Markers, module: ModuleType
) -> None:
    marker = markers.new()
    error = KeyError(f"activity {marker} not in index")
    monkeypatch.setattr(
        _module("dashboard_reference"), "get_knowledge_base", raise_deep(error)
    )


DASHBOARD_CASES: list[CanaryCase] = [
    CanaryCase("GET /health", "valid", lambda m: _get("/health"), OK),
    CanaryCase("GET /openapi.json", "valid", lambda m: _get("/openapi.json"), OK),
    CanaryCase("GET /swagger", "valid", lambda m: _get("/swagger"), OK),
    CanaryCase(
        "GET /reference/ecosystem-services",
        "valid",
        lambda m: _get("/reference/ecosystem-services"),
        OK,
    ),
    CanaryCase(
        "GET /reference/ecosystem-services",
        "deep_error",
        lambda m: _get("/reference/ecosystem-services"),
        SERVER_ERROR,
        patch=_knowledge_base_fails,
    ),
    CanaryCase(
        "GET /reference/pressures",
        "valid",
        lambda m: _get("/reference/pressures"),
        OK,
    ),
    CanaryCase(
        "GET /reference/pressures",
        "deep_error",
        lambda m: _get("/reference/pressures"),
        SERVER_ERROR,
        patch=_knowledge_base_fails,
    ),
    CanaryCase(
        "GET /reference/economic-activities",
        "valid",
        lambda m: _get(
            "/reference/economic-activities",
            [("q", m.new("mining ")), ("code", m.new("A_"))],
        ),
        OK,
    ),
    CanaryCase(
        "GET /reference/economic-activities",
        "wrong_types",
        lambda m: _get(
            "/reference/economic-activities",
            [("limit", m.new()), ("offset", m.new("-"))],
        ),
        frozenset({422}),
    ),
    CanaryCase(
        "GET /reference/economic-activities",
        "oversize",
        lambda m: _get(
            "/reference/economic-activities",
            [("q", " ".join(m.new() for _ in range(20)))],
        ),
        frozenset({422}),
    ),
    CanaryCase(
        "GET /reference/economic-activities",
        "deep_error",
        lambda m: _get("/reference/economic-activities", [("q", m.new())]),
        SERVER_ERROR,
        patch=_knowledge_base_fails,
    ),
    CanaryCase(
        "GET /reference/release",
        "valid",
        lambda m: _get("/reference/release"),
        OK,
    ),
    CanaryCase(
        "GET /reference/release",
        "deep_error",
        lambda m: _get("/reference/release"),
        SERVER_ERROR,
        patch=_knowledge_base_fails,
    ),
]

DASHBOARD_CASES += [
    CanaryCase(
        "GET /templates/{module}",
        "valid",
        lambda m: Request(
            "GET",
            "/templates/natural-capital.csv",
            path_parameters={"module": "natural-capital.csv"},
        ),
        frozenset({200, 404}),
    ),
    CanaryCase(
        "GET /templates/{module}",
        "path_parameter",
        _marked_template_request,
        frozenset({404, 422}),
    ),
]

API_CASES: dict[str, list[CanaryCase]] = {
    "dashboard": DASHBOARD_CASES,
}
SCHEDULED_CASES: dict[str, list[ScheduledCase]] = {}


def json_body(value: object) -> bytes:
    return json.dumps(value).encode()
