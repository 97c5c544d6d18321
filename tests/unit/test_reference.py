"""Reference data: services, pressures, activity search and the release."""

from __future__ import annotations

import json

import pytest
from nature_risk.errors import InputError
from nature_risk.knowledge_base import load_knowledge_base
from nature_risk.reference import (
    describe_release,
    list_ecosystem_services,
    list_pressures,
    search_economic_activities,
)


@pytest.fixture(scope="module")
def kb(encore_dir):
    return load_knowledge_base(encore_dir)


def test_ecosystem_services_listed(kb):
    services = list_ecosystem_services(kb)
    assert len(services) == 25
    assert services[1]["name"] == "Biomass provisioning"
    assert len(services[1]["sub_services"]) == 7
    assert json.dumps(services)


def test_pressures_have_definitions(kb):
    pressures = list_pressures(kb)
    assert len(pressures) == 13
    assert all(pressure["definition"] for pressure in pressures)


def test_release_described(kb):
    release = describe_release(kb)
    assert release["licence"] == "CC BY-SA 4.0"
    assert release["activities"] == 271
    assert len(release["files"]) == 7


def test_search_by_words(kb):
    result = search_economic_activities(kb, query="energy PRODUCTION solar")
    assert result["total"] == 1
    assert result["items"][0]["activity_id"] == "D_35_351:solar-energy-production"


def test_search_by_code(kb):
    result = search_economic_activities(kb, code="011")
    assert result["total"] == 7
    assert result["resolution"]["method"] == "isic_group"


def test_search_by_code_and_words(kb):
    result = search_economic_activities(kb, code="D_35_351", query="wind")
    assert [item["activity_id"] for item in result["items"]] == [
        "D_35_351:wind-energy-production"
    ]


def test_search_ambiguous_code(kb):
    result = search_economic_activities(kb, code="141")
    assert result["total"] == 0
    assert result["resolution"]["status"] == "ambiguous"


def test_search_pages(kb):
    first = search_economic_activities(kb, limit=10)
    second = search_economic_activities(kb, limit=10, offset=10)
    assert first["total"] == 271
    assert len(first["items"]) == 10
    assert first["items"][0]["activity_id"] != second["items"][0]["activity_id"]


def test_search_with_ratings(kb):
    item = search_economic_activities(kb, code="A_1_11_111", include_ratings=True)[
        "items"
    ][0]
    # 06 row 9 (cereals): Water supply H; 07 row 9: Area of land use H.
    assert item["dependencies"]["Water supply"] == "H"
    assert item["pressures"]["Area of land use"] == "H"


@pytest.mark.parametrize(
    ("limit", "offset", "field"), [(0, 0, "limit"), (10, -1, "offset")]
)
def test_search_page_limits(kb, limit, offset, field):
    with pytest.raises(InputError) as caught:
        search_economic_activities(kb, limit=limit, offset=offset)
    assert caught.value.problems[0].field == field
