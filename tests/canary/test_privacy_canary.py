"""Every route of every function, called with marked input, logs no piece of a mark.

A case passes when two things hold. The handler returns the expected status,
which shows the path under test really ran. And nothing written to stdout,
stderr, any log handler, the root logger, warnings or the runtime's error
output contains four characters or more of any marker the case sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from nature_risk.observability import route_key_of

from tests.canary.cases import (
    API_CASES,
    DATABASE_FUNCTIONS,
    REQUIRED_KINDS,
    SCHEDULED_CASES,
    UPLOAD_KINDS,
)
from tests.canary.markers import Markers, find_leaks, leak_report
from tests.canary.runner import build_event, invoke
from tests.functions import FUNCTIONS_DIR, load_function

FUNCTION_NAMES = sorted(path.parent.name for path in FUNCTIONS_DIR.glob("*/app.py"))


def is_api_function(name: str) -> bool:
    source = (FUNCTIONS_DIR / name / "app.py").read_text(encoding="utf-8")
    return "create_resolver(" in source


def resolver_of(module) -> ApiGatewayResolver:
    for value in vars(module).values():
        if isinstance(value, ApiGatewayResolver):
            return value
    raise AssertionError(f"{module.__name__} defines no Powertools resolver")


def registered_route_keys(module) -> set[str]:
    app = resolver_of(module)
    routes = [*app._static_routes, *app._dynamic_routes]
    return {route_key_of(route.method, route.path) for route in routes}


def required_kinds(function: str, route: str) -> set[str]:
    method, path = route.split(" ", 1)
    kinds = set(REQUIRED_KINDS.get(method, {"valid"}))
    if "{" in path:
        kinds.add("path_parameter")
    if path.startswith("/dashboards/"):
        kinds |= UPLOAD_KINDS
    if function in DATABASE_FUNCTIONS:
        kinds.add("database_error")
    return kinds


def assert_no_leak(text: str, markers: Markers) -> None:
    assert markers.issued, "the case sent no marker"
    leaks = find_leaks(text, markers.issued)
    assert not leaks, leak_report(text, leaks)


@pytest.fixture(autouse=True)
def data_folders(monkeypatch, encore_dir: Path, biodiversity_dir: Path) -> None:
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))


# Functions with a database run their cases in tests/integration.
API_CASE_PARAMS = [
    pytest.param(function, case, id=f"{function} {case.id}")
    for function, cases in API_CASES.items()
    if function not in DATABASE_FUNCTIONS
    for case in cases
]


@pytest.mark.parametrize(("function", "case"), API_CASE_PARAMS)
def test_api_case_leaks_nothing(function, case, monkeypatch, capfd):
    module = load_function(function)
    markers = Markers()
    event = build_event(case, markers)
    if case.patch is not None:
        case.patch(monkeypatch, markers, module)

    outcome = invoke(module, event, function)
    descriptors = capfd.readouterr()

    assert outcome.error is None, "an API handler raised instead of answering"
    assert outcome.response["statusCode"] in case.statuses, outcome.response
    assert_no_leak(outcome.output + descriptors.out + descriptors.err, markers)
    if case.kind == "deep_error":
        error = json.loads(outcome.response["body"])["error"]
        assert error["code"] == "internal_error"
        assert error["request_id"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_handler_wrapped_by_lambda_entry(function):
    source = (FUNCTIONS_DIR / function / "app.py").read_text(encoding="utf-8")
    assert "@lambda_entry(" in source
    if is_api_function(function):
        handler = load_function(function).lambda_handler
        assert getattr(handler, "privacy_guarded", False)


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_every_route_has_canary_cases(function):
    if not is_api_function(function):
        kinds = {case.kind for case in SCHEDULED_CASES.get(function, [])}
        missing = {"valid", "deep_error", "database_error"} - kinds
        assert not missing, f"{function}: scheduled cases missing: {sorted(missing)}"
        return

    registered = registered_route_keys(load_function(function))
    cases = API_CASES.get(function, [])
    kinds_by_route: dict[str, set[str]] = {}
    for case in cases:
        kinds_by_route.setdefault(case.route, set()).add(case.kind)

    missing = {
        route: sorted(
            required_kinds(function, route) - kinds_by_route.get(route, set())
        )
        for route in sorted(registered)
    }
    missing = {route: kinds for route, kinds in missing.items() if kinds}
    assert not missing, f"{function}: routes without canary cases: {missing}"

    stale = set(kinds_by_route) - registered
    assert not stale, f"{function}: cases for routes it does not register: {stale}"


def test_canary_detects_leaky_handler(capfd):
    """The capture and the search see a handler that prints or logs its input."""
    import logging
    import types

    def leaky_handler(event, context):
        print(event["body"])
        logging.getLogger().error("Body was %s", event["headers"]["x-company"])
        raise ValueError(event["rawQueryString"])

    module = types.ModuleType("leaky_app")
    module.lambda_handler = leaky_handler
    case = API_CASES["dashboard"][0]
    markers = Markers()
    event = build_event(case, markers)
    event["body"] = markers.new()

    outcome = invoke(module, event, "leaky")
    capfd.readouterr()

    leaks = find_leaks(outcome.output, markers.issued)
    assert len(leaks) >= 3
