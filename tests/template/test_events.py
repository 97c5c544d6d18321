"""The sample events in events/ fit the template and the handlers.

``sam local invoke <Function> --event events/<name>.json`` takes these files.
A file is named after its function (``dashboard-health.json`` belongs to
DashboardFunction), and an HTTP event must carry a route key that the
function has in template.yaml.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from infra.local.events import LambdaContext
from tests.functions import load_function
from tests.template.template_support import REPO_ROOT, http_route_keys

EVENTS_DIR = REPO_ROOT / "events"
FUNCTION_IDS = {
    "dashboard": "DashboardFunction",
    "portfolio": "PortfolioFunction",
    "backup": "BackupFunction",
}
HTTP_FUNCTIONS = ("dashboard", "portfolio")


def event_files(function: str) -> list[Path]:
    return sorted(EVENTS_DIR.glob(f"{function}-*.json"))


def read_event(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_event_belongs_to_a_function():
    for path in EVENTS_DIR.glob("*.json"):
        prefix = path.name.split("-", 1)[0]
        assert prefix in FUNCTION_IDS, path.name


@pytest.mark.parametrize("function", sorted(FUNCTION_IDS))
def test_each_function_has_an_event(function):
    assert event_files(function)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_http_events_match_template_routes(function):
    routes = http_route_keys(FUNCTION_IDS[function])
    for path in event_files(function):
        event = read_event(path)
        assert event["version"] == "2.0", path.name
        route_key = event["routeKey"]
        assert route_key in routes, path.name
        assert event["requestContext"]["routeKey"] == route_key, path.name
        method = route_key.split(" ", 1)[0]
        assert event["requestContext"]["http"]["method"] == method, path.name


def test_portfolio_events_carry_jwt_claims():
    for path in event_files("portfolio"):
        claims = read_event(path)["requestContext"]["authorizer"]["jwt"]["claims"]
        assert claims["sub"], path.name


def test_dashboard_events_carry_no_authorizer():
    for path in event_files("dashboard"):
        assert "authorizer" not in read_event(path)["requestContext"], path.name


def test_backup_schedule_event_has_a_scheduled_time():
    event = read_event(EVENTS_DIR / "backup-schedule.json")
    assert event["detail-type"] == "Scheduled Event"
    scheduled = datetime.datetime.fromisoformat(event["time"])
    assert scheduled.tzinfo is not None


def test_dashboard_events_succeed(encore_dir, biodiversity_dir, monkeypatch):
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
    dashboard = load_function("dashboard")
    for path in event_files("dashboard"):
        context = LambdaContext("dashboard")
        response = dashboard.lambda_handler(read_event(path), context)
        assert response["statusCode"] == 200, path.name
