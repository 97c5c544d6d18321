"""Mining and agriculture responses stay within Lambda's 6 MB at the row limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from nature_risk.biodiversity.results import MAX_LISTED_PROBLEMS, MAX_RESPONSE_BYTES
from nature_risk.config.biodiversity import BiodiversityLimits

from tests.events import csv_event, lambda_context
from tests.functions import load_function

LIMITS = BiodiversityLimits()
MINING_HEADER = "name,company,latitude,longitude,commodity,status,amount,country\n"
AGRICULTURE_HEADER = (
    "company,commodity,country,production_tonnes,area_hectares,amount\n"
)
# Names and companies as long as real ones get (60 characters).
LONG_NAME = "Mine " + "x" * 55
LONG_COMPANY = "Company " + "y" * 52


@pytest.fixture(scope="module")
def dashboard(encore_dir: Path, biodiversity_dir: Path) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        patch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
        patch.delenv("MAX_MINING_ASSETS", raising=False)
        patch.delenv("MAX_AGRICULTURE_HOLDINGS", raising=False)
        yield load_function("dashboard")


def call(dashboard: ModuleType, path: str, text: str) -> dict[str, Any]:
    return dashboard.lambda_handler(csv_event(path, text), lambda_context())


def envelope_bytes(response: dict[str, Any]) -> int:
    """Return the size of the response as Lambda returns it (JSON, escaped body)."""
    return len(json.dumps(response).encode("utf-8"))


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return json.loads(body)


def mining_csv(count: int, name: str = LONG_NAME) -> str:
    """Assets over land and sea, each with a stated country that is not known."""
    rng = np.random.default_rng(7)
    latitudes = rng.uniform(-60, 75, count)
    longitudes = rng.uniform(-180, 180, count)
    lines = [
        f"{name} {i},{LONG_COMPANY},{latitudes[i]:.6f},{longitudes[i]:.6f},"
        f"copper,operating,{1_000_000 + i},Atlantis"
        for i in range(count)
    ]
    return MINING_HEADER + "\n".join(lines) + "\n"


def agriculture_csv(count: int) -> str:
    """Holdings of many crops and countries; every third one is not recognised."""
    crops = ("wheat", "soybeans", "maize", "cocoa", "coffee", "rice", "oil palm")
    countries = ("FR", "BRA", "USA", "IND", "CIV", "IDN", "DEU", "ARG", "CN", "KE")
    lines = []
    for i in range(count):
        crop = "moonfruit" if i % 3 == 0 else crops[i % len(crops)]
        country = "Atlantis" if i % 3 == 0 else countries[i % len(countries)]
        lines.append(f"{LONG_COMPANY},{crop},{country},{1000 + i},,{i}")
    return AGRICULTURE_HEADER + "\n".join(lines) + "\n"


def test_mining_at_row_limit_fits(dashboard):
    response = call(
        dashboard, "/dashboards/mining", mining_csv(LIMITS.max_mining_assets)
    )
    assert response["statusCode"] == 200
    assert envelope_bytes(response) < MAX_RESPONSE_BYTES
    result = body_of(response)
    assert len(result["assets"]) == LIMITS.max_mining_assets


def test_mining_warnings_capped(dashboard):
    response = call(
        dashboard, "/dashboards/mining", mining_csv(MAX_LISTED_PROBLEMS + 5)
    )
    result = body_of(response)
    assert len(result["warnings"]) == MAX_LISTED_PROBLEMS
    assert result["warnings_total"] >= MAX_LISTED_PROBLEMS + 5
    assert result["warnings_truncated"] is True


def test_mining_over_row_limit_rejected(dashboard):
    response = call(
        dashboard, "/dashboards/mining", mining_csv(LIMITS.max_mining_assets + 1)
    )
    assert response["statusCode"] == 413
    message = body_of(response)["error"]["message"]
    assert str(LIMITS.max_mining_assets) in message
    assert "MAX_MINING_ASSETS" in message


def test_mining_row_limit_from_environment(dashboard, monkeypatch):
    monkeypatch.setenv("MAX_MINING_ASSETS", "3")
    response = call(dashboard, "/dashboards/mining", mining_csv(4))
    assert response["statusCode"] == 413
    assert "3 mining assets" in body_of(response)["error"]["message"]


def test_agriculture_at_row_limit_fits(dashboard):
    response = call(
        dashboard,
        "/dashboards/agriculture",
        agriculture_csv(LIMITS.max_agriculture_holdings),
    )
    assert response["statusCode"] == 200
    assert envelope_bytes(response) < MAX_RESPONSE_BYTES
    result = body_of(response)
    assert len(result["holdings"]) == LIMITS.max_agriculture_holdings
    assert len(result["unresolved"]) == MAX_LISTED_PROBLEMS
    assert result["unresolved_total"] > MAX_LISTED_PROBLEMS
    assert result["unresolved_truncated"] is True


def test_agriculture_profiles_listed_once(dashboard):
    result = body_of(call(dashboard, "/dashboards/agriculture", agriculture_csv(30)))
    first = result["holdings"][1]
    assert first["country"] == "BRA"
    assert first["commodity"] == "soybeans"
    assert "profile" in result["countries"]["BRA"]
    assert result["commodities"]["soybeans"]["encore_activity"] is not None
    assert "country_profile" not in first
    assert "encore_activity" not in first


def test_agriculture_over_row_limit_rejected(dashboard):
    response = call(
        dashboard,
        "/dashboards/agriculture",
        agriculture_csv(LIMITS.max_agriculture_holdings + 1),
    )
    assert response["statusCode"] == 413
    message = body_of(response)["error"]["message"]
    assert str(LIMITS.max_agriculture_holdings) in message
    assert "MAX_AGRICULTURE_HOLDINGS" in message


def test_long_names_over_response_limit_rejected(dashboard):
    # Each "é" is 2 bytes in the upload and 7 once escaped twice in the
    # envelope, so 1,000 names of 1,500 of them pass 6 MB.
    response = call(dashboard, "/dashboards/mining", mining_csv(1_000, "é" * 1_500))
    assert response["statusCode"] == 413
    assert str(MAX_RESPONSE_BYTES) in body_of(response)["error"]["message"]
    assert envelope_bytes(response) < MAX_RESPONSE_BYTES
