"""The mining and agriculture routes, called through the dashboard handler."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.canary.capture import capture_output
from tests.events import (
    csv_event,
    http_event,
    json_event,
    lambda_context,
    multipart_event,
)
from tests.functions import load_function

MINING_CSV = (
    "name,company,latitude,longitude,commodity,status,amount,country\n"
    "Escondida,Quillion Mining,-24.27,-69.07,copper,operating,1000,CL\n"
    "Iowa pit,Quillion Mining,41.96,-93.46,gravel,closed,50,US\n"
)
AGRICULTURE_CSV = (
    "company,commodity,country,production_tonnes,area_hectares,amount\n"
    "Quillion Farms,wheat,FR,68427,,100\n"
)


@pytest.fixture(scope="module")
def dashboard(encore_dir: Path, biodiversity_dir: Path) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        patch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
        yield load_function("dashboard")


def call(dashboard: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return dashboard.lambda_handler(event, lambda_context())


def body_of(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return body


@pytest.mark.parametrize("module", ["mining.csv", "agriculture.csv"])
def test_template_served(dashboard, module):
    response = call(dashboard, http_event("GET", f"/templates/{module}"))
    assert response["statusCode"] == 200
    assert body_of(response).lstrip("\ufeff").splitlines()[0].count(",") >= 5


def test_mining_template_parses_as_upload(dashboard):
    template = body_of(call(dashboard, http_event("GET", "/templates/mining.csv")))
    response = call(dashboard, csv_event("/dashboards/mining", template))
    assert response["statusCode"] == 200
    assert json.loads(body_of(response))["summary"]["assets"] == 1


def test_agriculture_template_parses_as_upload(dashboard):
    template = body_of(call(dashboard, http_event("GET", "/templates/agriculture.csv")))
    response = call(dashboard, csv_event("/dashboards/agriculture", template))
    assert response["statusCode"] == 200
    assert json.loads(body_of(response))["summary"]["holdings"] == 2


def test_mining_csv(dashboard):
    response = call(dashboard, csv_event("/dashboards/mining", MINING_CSV))
    assert response["statusCode"] == 200
    result = json.loads(body_of(response))
    assert result["assets"][0]["ecoregion"]["name"] == "Atacama desert"
    assert result["assets"][1]["tier"] == "tier_2"


def test_mining_multipart(dashboard):
    files = {"file": ("mines.csv", MINING_CSV.encode(), "text/csv")}
    response = call(dashboard, multipart_event("/dashboards/mining", files))
    assert response["statusCode"] == 200
    assert json.loads(body_of(response))["summary"]["assets"] == 2


def test_mining_json(dashboard):
    payload = {
        "assets": [{"latitude": -24.27, "longitude": -69.07, "status": "operating"}]
    }
    response = call(dashboard, json_event("/dashboards/mining", payload))
    assert response["statusCode"] == 200
    assert json.loads(body_of(response))["assets"][0]["row"] == 0


def test_mining_row_errors_are_400(dashboard):
    response = call(
        dashboard, csv_event("/dashboards/mining", "latitude,longitude\n0,0\n95,1\n")
    )
    assert response["statusCode"] == 400
    problems = json.loads(body_of(response))["error"]["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [
        (2, "latitude"),
        (3, "latitude"),
    ]


@pytest.mark.parametrize(
    ("path", "csv"),
    [
        ("/dashboards/mining", "latitude,longitude\n" + "95,1\n" * 3000),
        ("/dashboards/agriculture", "commodity,country,tonnes\n" + ",FR,1\n" * 3000),
    ],
)
def test_capped_row_errors_message(dashboard, path, csv):
    response = call(dashboard, csv_event(path, csv))
    error = json.loads(body_of(response))["error"]
    assert response["statusCode"] == 400
    assert len(error["problems"]) == 1000
    assert error["problems_truncated"] is True
    assert "3000 problems found" in error["message"]
    assert "The first 1000 are listed (MAX_ROW_ERRORS)" in error["message"]
    assert "fix the 3000 listed" not in error["message"]


def test_mining_cell_currency_is_400(dashboard):
    csv = "name,latitude,longitude,Amount (EUR)\nA,-23.45,-68.95,5 USD\n"
    response = call(dashboard, csv_event("/dashboards/mining", csv))
    problems = json.loads(body_of(response))["error"]["problems"]
    assert response["statusCode"] == 400
    assert [(p["row"], p["field"]) for p in problems] == [(2, "amount")]


def test_mining_currency_stated(dashboard):
    csv = "name,latitude,longitude,Amount (EUR)\nA,-23.45,-68.95,5\n"
    response = call(dashboard, csv_event("/dashboards/mining", csv))
    assert response["statusCode"] == 200
    assert json.loads(body_of(response))["currency"] == "EUR"


def test_mining_wrong_media_type_is_415(dashboard):
    event = http_event(
        "POST", "/dashboards/mining", headers={"content-type": "text/xml"}, body=b"<a/>"
    )
    assert call(dashboard, event)["statusCode"] == 415


def test_mining_body_limit_is_413(dashboard, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "64")
    response = call(dashboard, csv_event("/dashboards/mining", MINING_CSV))
    assert response["statusCode"] == 413


def test_agriculture_csv(dashboard):
    response = call(dashboard, csv_event("/dashboards/agriculture", AGRICULTURE_CSV))
    assert response["statusCode"] == 200
    result = json.loads(body_of(response))
    assert result["holdings"][0]["footprint_hectares"] == pytest.approx(10_000.0)
    assert result["knowledge_base"]["release"]


def test_agriculture_row_errors_are_400(dashboard):
    response = call(
        dashboard,
        csv_event("/dashboards/agriculture", "commodity,country,tonnes\n,FR,1\n"),
    )
    assert response["statusCode"] == 400


def test_logs_carry_no_input(dashboard):
    secret = "Quillion"
    with capture_output() as output:
        call(dashboard, csv_event("/dashboards/mining", MINING_CSV))
        call(dashboard, csv_event("/dashboards/agriculture", AGRICULTURE_CSV))
        bad = "latitude,longitude\n-24.27,999\n"
        call(dashboard, csv_event("/dashboards/mining", bad))
    logs = output.getvalue()
    assert "Request completed" in logs
    assert secret not in logs
    assert "-24.27" not in logs
    assert "-69.07" not in logs


def test_mining_route_reports_pack_indicators(dashboard, tmp_path, monkeypatch):
    from nature_risk.biodiversity import get_biodiversity

    from tests.unit.biodiversity_support import write_pack

    write_pack(
        tmp_path,
        "star",
        kind="grid",
        indicators=[{"id": "star_threat_abatement", "units": "STAR"}],
        header=["lat", "lon", "star_threat_abatement"],
        rows=[[-24.25, -69.25, 4.0]],
        cell_size_degrees=0.5,
    )
    monkeypatch.setenv("BIODIVERSITY_PACKS_DIR", str(tmp_path))
    get_biodiversity.cache_clear()
    try:
        response = call(dashboard, csv_event("/dashboards/mining", MINING_CSV))
    finally:
        monkeypatch.delenv("BIODIVERSITY_PACKS_DIR")
        get_biodiversity.cache_clear()
    result = json.loads(body_of(response))
    indicator = result["assets"][0]["indicators"]["star_threat_abatement"]
    assert indicator["value"] == 4.0
    assert result["layer_packs"][0]["attribution"] == "Test attribution"
    missing = {entry["id"] for entry in result["indicators"]["missing"]}
    assert "star_threat_abatement" not in missing
    # Only the Chilean asset lies in a cell of the pack.
    star = result["portfolio"]["star_threat_abatement_concentration"]
    assert star["assets_scored"] == 1


def test_mining_route_without_packs_lists_missing(dashboard):
    response = call(dashboard, csv_event("/dashboards/mining", MINING_CSV))
    result = json.loads(body_of(response))
    assert result["layer_packs"] == []
    assert len(result["indicators"]["missing"]) == 5
    assert result["assets"][0]["indicators"] == {}


@pytest.mark.parametrize("path", ["/dashboards/mining", "/dashboards/agriculture"])
def test_invalid_pack_gives_503_and_logs_pack(dashboard, tmp_path, monkeypatch, path):
    from nature_risk.biodiversity import get_biodiversity

    from tests.unit.biodiversity_support import write_pack

    write_pack(
        tmp_path,
        "bad-pack-folder",
        kind="country",
        indicators=[{"id": "biodiversity_intactness", "units": "fraction"}],
        header=["country", "biodiversity_intactness"],
        rows=[["FRA", 0.5], ["FRA", 0.6]],
    )
    monkeypatch.setenv("BIODIVERSITY_PACKS_DIR", str(tmp_path))
    get_biodiversity.cache_clear()
    body = MINING_CSV if path.endswith("mining") else AGRICULTURE_CSV
    try:
        with capture_output() as output:
            response = call(dashboard, csv_event(path, body))
    finally:
        monkeypatch.delenv("BIODIVERSITY_PACKS_DIR")
        get_biodiversity.cache_clear()
    assert response["statusCode"] == 503
    error = json.loads(body_of(response))["error"]
    assert error["code"] == "service_unavailable"
    assert "layer pack is invalid" in error["message"]
    logs = output.getvalue()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    [pack_line] = [
        line for line in lines if line.get("message") == "Layer pack invalid"
    ]
    assert pack_line["error_code"] == "pack_invalid"
    assert pack_line["layer_pack"] == "bad-pack-folder"
    assert pack_line["pack_location"] == "table row 3"
    assert "Escondida" not in logs


@pytest.mark.parametrize("path", ["/dashboards/mining", "/dashboards/agriculture"])
def test_missing_data_dir_gives_503(dashboard, tmp_path, monkeypatch, path):
    from nature_risk.biodiversity import get_biodiversity

    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(tmp_path / "absent"))
    get_biodiversity.cache_clear()
    body = MINING_CSV if path.endswith("mining") else AGRICULTURE_CSV
    event = csv_event(path, body)
    try:
        with capture_output() as output:
            response = call(dashboard, event)
    finally:
        monkeypatch.undo()
        get_biodiversity.cache_clear()

    assert response["statusCode"] == 503
    error = json.loads(body_of(response))["error"]
    assert error["code"] == "service_unavailable"
    assert "not configured" in error["message"]
    assert error["request_id"] == event["requestContext"]["requestId"]
    logs = output.getvalue()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    [settings_line] = [
        line for line in lines if line.get("message") == "Biodiversity settings invalid"
    ]
    assert settings_line["error_code"] == "configuration_invalid"
    assert settings_line["setting"] == "BIODIVERSITY_DATA_DIR"
    assert str(tmp_path) not in logs
