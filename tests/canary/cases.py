"""The canary cases, by function and route key.

``test_every_route_has_canary_cases`` loads every ``functions/*/app.py``, lists
the routes its resolver registers and fails for a route without a case here,
or without the case kinds its method requires (``REQUIRED_KINDS``). A new
route is finished when its cases are added below.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
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


def json_body(value: object) -> bytes:
    return json.dumps(value).encode()


def _module(name: str) -> ModuleType:
    # The biodiversity package is imported on the first biodiversity request.
    return sys.modules.get(name) or importlib.import_module(name)


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


@dataclass(frozen=True)
class UploadRoute:
    """A dashboard route that takes a portfolio as JSON, CSV or a file upload."""

    path: str
    rows_key: str
    # A row whose free-text fields carry markers and whose other fields are valid.
    valid_row: Callable[[Markers], dict[str, str]]
    # The module and function the route calls to build the dashboard.
    deep_target: tuple[str, str]


def _csv(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\r\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _marked_row(row: dict[str, str], markers: Markers) -> dict[str, str]:
    return {key: markers.new() for key in row}


def _upload_request(route: UploadRoute, body: bytes, content_type: str) -> Request:
    return Request(
        "POST", route.path, headers=[("content-type", content_type)], body=body
    )


def _multipart(route: UploadRoute, markers: Markers) -> Request:
    boundary = "canaryboundary"
    rows = [route.valid_row(markers), route.valid_row(markers)]
    parts = [
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{markers.new()}.csv"'
        "\r\nContent-Type: text/csv\r\n\r\n",
        _csv(rows).decode(),
        f"\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{markers.new()}"\r\n\r\n'
        f"{markers.new()}\r\n--{boundary}--\r\n",
    ]
    return _upload_request(
        route,
        "".join(parts).encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def _csv_with_marked_headers(route: UploadRoute, markers: Markers) -> Request:
    rows = []
    for _ in range(3):
        row = route.valid_row(markers)
        row[markers.new()] = markers.new()
        rows.append(row)
    # Every row gets the same extra column name as the first.
    extra = [key for key in rows[0] if key not in route.valid_row(markers)][0]
    for row in rows[1:]:
        row[extra] = row.pop([key for key in row if key not in rows[0]][0])
    return _upload_request(route, _csv(rows), "text/csv")


def _broken_csv(route: UploadRoute, markers: Markers) -> Request:
    header = ",".join(route.valid_row(markers))
    body = (
        (
            f'{header}\r\n"{markers.new()},{markers.new()}\r\n'
            f"{markers.new()}\x00{markers.new()},\xff\r\n"
        ).encode("utf-8", "surrogateescape")
        + b"\xff\xfe"
        + markers.new().encode()
    )
    return _upload_request(route, body, "text/csv")


def _semicolon_amounts(route: UploadRoute, markers: Markers) -> Request:
    """Send a semicolon CSV long enough for the amount byte and shape paths.

    Every amount is written as 1.234,56, except one after row 1,000 that
    carries a marker, so the column falls back to the text rules.
    """
    rows = []
    for _ in range(1_200):
        row = route.valid_row(markers)
        # Decimal commas for the coordinates and tonnes as well.
        row = {key: value.replace(".", ",") for key, value in row.items()}
        row["amount"] = "1.234,56"
        rows.append(row)
    rows[1_100]["amount"] = f"1.234,56 {markers.new()}"
    return _upload_request(route, _csv(rows, delimiter=";"), "text/csv")


def _json_number_amounts(route: UploadRoute, markers: Markers) -> Request:
    """Send a JSON number beside written and marked amounts."""
    rows = [route.valid_row(markers) for _ in range(3)]
    rows[0]["amount"] = 1.234
    rows[1]["amount"] = "1.234,5"
    rows[2]["amount"] = markers.new()
    return _upload_request(route, _json_rows(route, rows), "application/json")


def _json_rows(route: UploadRoute, rows: list[dict]) -> bytes:
    return json.dumps({route.rows_key: rows}).encode()


def _oversize_patch(monkeypatch, markers, module) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")


def _deep_patch(target: tuple[str, str]):
    def patch(monkeypatch, markers, module) -> None:
        module_name, attribute = target
        error = ValueError(f"could not convert string to float: '{markers.new()}'")
        monkeypatch.setattr(_module(module_name), attribute, raise_deep(error))

    return patch


def upload_cases(route: UploadRoute) -> list[CanaryCase]:
    """Build the canary cases every dashboard upload route needs."""
    key = f"POST {route.path}"

    def valid(m: Markers) -> Request:
        rows = [route.valid_row(m) for _ in range(3)]
        return _upload_request(route, _json_rows(route, rows), "application/json")

    def wrong_types(m: Markers) -> Request:
        row = route.valid_row(m)
        rows = [_marked_row(row, m), {k: [m.new()] for k in row}, {m.new(): 1}]
        return _upload_request(route, _json_rows(route, rows), "application/json")

    def malformed_json(m: Markers) -> Request:
        body = f'{{"{route.rows_key}": [{{"{m.new()}": "{m.new()}", '.encode()
        return _upload_request(route, body, "application/json")

    def oversize(m: Markers) -> Request:
        rows = [route.valid_row(m) for _ in range(60)]
        return _upload_request(route, _json_rows(route, rows), "application/json")

    def csv_marked_cells(m: Markers) -> Request:
        row = route.valid_row(m)
        rows = [route.valid_row(m), _marked_row(row, m), _marked_row(row, m)]
        return _upload_request(route, _csv(rows), "text/csv")

    rejected = frozenset({400, 413, 415, 422})
    return [
        CanaryCase(key, "valid", valid, OK),
        CanaryCase(key, "wrong_types", wrong_types, rejected),
        CanaryCase(key, "malformed_json", malformed_json, rejected),
        CanaryCase(key, "oversize", oversize, frozenset({413}), patch=_oversize_patch),
        CanaryCase(key, "csv_cells", csv_marked_cells, rejected | OK),
        CanaryCase(
            key,
            "csv_headers",
            lambda m: _csv_with_marked_headers(route, m),
            rejected | OK,
        ),
        CanaryCase(key, "broken_csv", lambda m: _broken_csv(route, m), rejected),
        CanaryCase(key, "multipart", lambda m: _multipart(route, m), rejected | OK),
        CanaryCase(
            key,
            "semicolon_amounts",
            lambda m: _semicolon_amounts(route, m),
            rejected,
        ),
        CanaryCase(
            key,
            "json_number_amounts",
            lambda m: _json_number_amounts(route, m),
            rejected,
        ),
        CanaryCase(
            key,
            "deep_error",
            valid,
            SERVER_ERROR,
            patch=_deep_patch(route.deep_target),
        ),
    ]


UPLOAD_ROUTES = [
    UploadRoute(
        "/dashboards/natural-capital",
        "holdings",
        lambda m: {"name": m.new("Acme "), "code": "0111", "amount": "1000.50"},
        ("dashboard_natural_capital", "build_dashboard"),
    ),
    UploadRoute(
        "/dashboards/mining",
        "assets",
        lambda m: {
            "name": m.new("Mine "),
            "company": m.new(),
            "latitude": "-23.45",
            "longitude": "-68.95",
            "commodity": "copper",
            "status": "operating",
            "amount": "1000000",
            "country": "CL",
        },
        ("nature_risk.biodiversity", "build_mining_dashboard"),
    ),
    UploadRoute(
        "/dashboards/agriculture",
        "holdings",
        lambda m: {
            "company": m.new("Farms "),
            "commodity": "wheat",
            "country": "FR",
            "production_tonnes": "50000",
            "amount": "250000",
        },
        ("nature_risk.biodiversity", "build_agriculture_dashboard"),
    ),
]
for upload_route in UPLOAD_ROUTES:
    DASHBOARD_CASES += upload_cases(upload_route)

# Portfolio cases run in tests/integration against the TLS PostgreSQL. Before
# each case the test saves one marked portfolio for a marked owner and puts
# ``sub``, ``portfolio_id`` and ``etag`` into ``markers.context``. A function
# name without a module prefix is in ``nature_risk.storage.portfolios``.
PORTFOLIO_ROUTE_FUNCTIONS = {
    "GET /portfolios": "list_portfolios",
    "POST /portfolios": "create_portfolio",
    "GET /portfolios/{portfolio_id}": "get_portfolio",
    "PUT /portfolios/{portfolio_id}": "replace_portfolio",
    "DELETE /portfolios/{portfolio_id}": "delete_portfolio",
    "GET /portfolios/{portfolio_id}/dashboard": "get_portfolio",
    "GET /account/data": "portfolio_export.export_page",
    "DELETE /account/data": "delete_all_portfolios",
}
DATABASE_ERROR_STATUSES = frozenset({400, 409, 500, 503})


def marked_portfolio(markers: Markers) -> dict:
    """Return a valid portfolio whose every free-text field carries a marker."""
    return {
        "name": markers.new("Book "),
        "module": "natural_capital",
        "currency": "EUR",
        "holdings": [
            {"name": markers.new("Farms "), "code": "0111", "amount": "2500000"},
            {"name": markers.new(), "code": "C_10_106", "amount": "1234.5"},
        ],
    }


def _claims(markers: Markers) -> dict[str, str]:
    return {"sub": markers.context["sub"], "email": f"{markers.new()}@example.org"}


def _portfolio_request(
    markers: Markers,
    method: str,
    route: str,
    *,
    portfolio_id: str | None = None,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
    query: list[tuple[str, str]] | None = None,
) -> Request:
    identifier = portfolio_id or markers.context.get("portfolio_id", "")
    path = route.split(" ", 1)[1].replace("{portfolio_id}", identifier)
    parameters = {"portfolio_id": identifier} if "{portfolio_id}" in route else None
    return Request(
        method,
        path,
        query=query or [],
        headers=headers or [],
        body=body,
        path_parameters=parameters,
        claims=_claims(markers),
    )


def _database_fails(function_name: str):
    """Make the repository call fail with PostgreSQL's own error on marked input."""

    def patch(monkeypatch, markers, module) -> None:
        marker = markers.new()

        def failing(connection, *args, **kwargs):
            # PostgreSQL quotes the value: invalid input syntax for type integer.
            connection.run("SELECT CAST(:value AS integer)", value=marker)

        module_name, _, name = function_name.rpartition(".")
        target = getattr(module, module_name or "repository")
        monkeypatch.setattr(target, name, failing)

    return patch


def _small_body_limit(monkeypatch, markers, module) -> None:
    from nature_risk.config import InputLimits

    monkeypatch.setattr(module, "INPUT_LIMITS", InputLimits(max_body_bytes=2048))


def _draft_fails(monkeypatch, markers, module) -> None:
    error = ValueError(f"could not convert string to float: '{markers.new()}'")
    monkeypatch.setattr(module, "read_draft", raise_deep(error))


def _portfolio_cases() -> list[CanaryCase]:
    cases = []
    json_type = [("content-type", "application/json")]

    def body_cases(method: str, route: str, valid_status: int) -> list[CanaryCase]:
        def headers(m: Markers) -> list[tuple[str, str]]:
            if method == "PUT":
                return [*json_type, ("if-match", m.context["etag"])]
            return json_type

        def send(m: Markers, body: bytes) -> Request:
            return _portfolio_request(m, method, route, body=body, headers=headers(m))

        def wrong_types(m: Markers) -> Request:
            portfolio = marked_portfolio(m)
            portfolio["holdings"].append(
                {"name": [m.new()], "code": m.new(), "amount": m.new()}
            )
            portfolio["currency"] = m.new()
            return send(m, json_body(portfolio))

        def oversize(m: Markers) -> Request:
            portfolio = marked_portfolio(m)
            portfolio["holdings"] *= 40
            return send(m, json_body(portfolio))

        def malformed(m: Markers) -> Request:
            return send(m, f'{{"name": "{m.new()}", "holdings": [{{'.encode())

        def valid(m: Markers) -> Request:
            return send(m, json_body(marked_portfolio(m)))

        rejected = frozenset({400, 413, 422})
        return [
            CanaryCase(route, "valid", valid, frozenset({valid_status})),
            CanaryCase(route, "wrong_types", wrong_types, rejected),
            CanaryCase(route, "malformed_json", malformed, rejected),
            CanaryCase(
                route, "oversize", oversize, frozenset({413}), patch=_small_body_limit
            ),
            CanaryCase(route, "deep_error", valid, SERVER_ERROR, patch=_draft_fails),
        ]

    cases += body_cases("POST", "POST /portfolios", 201)
    cases += body_cases("PUT", "PUT /portfolios/{portfolio_id}", 200)
    cases.append(
        CanaryCase(
            "PUT /portfolios/{portfolio_id}",
            "path_parameter",
            lambda m: _portfolio_request(
                m,
                "PUT",
                "PUT /portfolios/{portfolio_id}",
                portfolio_id=m.new(),
                body=json_body(marked_portfolio(m)),
                headers=[*json_type, ("if-match", '"1"')],
            ),
            frozenset({400, 404}),
        )
    )
    cases.append(
        CanaryCase(
            "PUT /portfolios/{portfolio_id}",
            "headers",
            lambda m: _portfolio_request(
                m,
                "PUT",
                "PUT /portfolios/{portfolio_id}",
                body=json_body(marked_portfolio(m)),
                headers=[*json_type, ("if-match", f'"{m.new()}"')],
            ),
            frozenset({400, 412}),
        )
    )
    simple_routes = {
        "GET /portfolios": ("GET", 200),
        "GET /portfolios/{portfolio_id}": ("GET", 200),
        "DELETE /portfolios/{portfolio_id}": ("DELETE", 204),
        "GET /portfolios/{portfolio_id}/dashboard": ("GET", 200),
        "GET /account/data": ("GET", 200),
        "DELETE /account/data": ("DELETE", 200),
    }
    for route, (method, status) in simple_routes.items():
        cases.append(
            CanaryCase(
                route,
                "valid",
                lambda m, method=method, route=route: _portfolio_request(
                    m, method, route
                ),
                frozenset({status}),
            )
        )
        if "{portfolio_id}" in route:
            cases.append(
                CanaryCase(
                    route,
                    "path_parameter",
                    lambda m, method=method, route=route: _portfolio_request(
                        m, method, route, portfolio_id=m.new()
                    ),
                    frozenset({400, 404}),
                )
            )
    cases.append(
        CanaryCase(
            "GET /portfolios",
            "wrong_types",
            lambda m: _portfolio_request(
                m,
                "GET",
                "GET /portfolios",
                query=[("limit", m.new()), ("cursor", m.new())],
            ),
            # Invalid query values get 422, as on the dashboard routes.
            frozenset({422}),
        )
    )
    cases.append(
        CanaryCase(
            "GET /account/data",
            "wrong_types",
            lambda m: _portfolio_request(
                m, "GET", "GET /account/data", query=[("cursor", m.new())]
            ),
            frozenset({422}),
        )
    )
    for route, function_name in PORTFOLIO_ROUTE_FUNCTIONS.items():
        method = route.split(" ", 1)[0]
        cases.append(
            CanaryCase(
                route,
                "database_error",
                lambda m, method=method, route=route: _portfolio_request(
                    m,
                    method,
                    route,
                    body=json_body(marked_portfolio(m)),
                    headers=[
                        *json_type,
                        ("if-match", m.context.get("etag", '"1"')),
                    ],
                ),
                DATABASE_ERROR_STATUSES,
                patch=_database_fails(function_name),
            )
        )
    return cases


PORTFOLIO_CASES = _portfolio_cases()


def schedule_event(markers: Markers) -> dict:
    """Return an EventBridge scheduled event; its detail carries markers."""
    return {
        "version": "0",
        "id": "canary-event-000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-03T02:30:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/nightly"],
        "detail": {"note": markers.new()},
    }


def _job_fails(monkeypatch, markers, module) -> None:
    error = KeyError(f"table {markers.new()} not found")
    monkeypatch.setattr(module, "run_job", raise_deep(error))


def _job_database_fails(monkeypatch, markers, module) -> None:
    marker = markers.new()

    def failing(event, settings, s3, connect):
        connection = connect()
        try:
            connection.run("SELECT CAST(:value AS integer)", value=marker)
        finally:
            connection.close()

    monkeypatch.setattr(module, "run_job", failing)


# Backup cases run in tests/integration with marked portfolios saved first.
BACKUP_CASES = [
    ScheduledCase("valid", lambda m: [schedule_event(m)], raises=False),
    ScheduledCase(
        "verify",
        lambda m: [schedule_event(m), {"action": "verify"}],
        raises=False,
    ),
    ScheduledCase(
        "deep_error", lambda m: [schedule_event(m)], raises=True, patch=_job_fails
    ),
    ScheduledCase(
        "database_error",
        lambda m: [schedule_event(m)],
        raises=True,
        patch=_job_database_fails,
    ),
]

API_CASES: dict[str, list[CanaryCase]] = {
    "dashboard": DASHBOARD_CASES,
    "portfolio": PORTFOLIO_CASES,
}
SCHEDULED_CASES: dict[str, list[ScheduledCase]] = {"backup": BACKUP_CASES}
