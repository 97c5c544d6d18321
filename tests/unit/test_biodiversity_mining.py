"""Mining assets: parsing, location checks, tiers and portfolio figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nature_risk.biodiversity.mining import (
    MiningAssets,
    build_mining_dashboard,
    parse_mining_assets,
)
from nature_risk.biodiversity.packs import load_pack
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, PayloadTooLarge

from tests.unit.biodiversity_support import load_data, write_pack

LIMITS = InputLimits()
HEADER = "name,company,latitude,longitude,commodity,status,amount,country\n"


@pytest.fixture(scope="module")
def data(biodiversity_dir):
    return load_data(biodiversity_dir)


def parse_csv(text: str) -> MiningAssets:
    return parse_mining_assets((HEADER + text).encode(), "text/csv", LIMITS)


def dashboard(assets, data, packs=(), radius_km=10, fallback_km=25):
    return build_mining_dashboard(
        assets, data, list(packs), radius_km=radius_km, coastal_fallback_km=fallback_km
    )


def problems_of(error: InputError) -> list[dict[str, object]]:
    return [problem.to_dict() for problem in error.problems]


def test_parse_csv_columns():
    assets = parse_csv("Mine A,Co,-24.3,-69.1,copper,Operating,1000,CL\n")
    assert assets.rows.tolist() == [2]
    assert assets.names == ["Mine A"]
    assert assets.statuses == ["operating"]
    assert assets.latitudes[0] == pytest.approx(-24.3)
    assert assets.amounts[0] == 1000.0
    assert assets.country_texts == ["CL"]


def test_parse_status_synonyms():
    assets = parse_csv(
        "A,,1,10,,active,,\n"
        "B,,2,10,,under construction,,\n"
        "C,,3,10,,care and maintenance,,\n"
    )
    assert assets.statuses == ["operating", "development", "closed"]


def test_parse_optional_columns_absent():
    body = b"latitude,longitude\n-24.3,-69.1\n"
    assets = parse_mining_assets(body, "text/csv", LIMITS)
    assert assets.names == [None]
    assert assets.statuses == [None]
    assert np.isnan(assets.amounts[0])


def test_parse_semicolon_decimal_comma():
    body = b"latitude;longitude;amount\n-24,3;-69,1;1.234,5\n"
    assets = parse_mining_assets(body, "text/csv", LIMITS)
    assert assets.latitudes[0] == pytest.approx(-24.3)
    assert assets.longitudes[0] == pytest.approx(-69.1)
    assert assets.amounts[0] == pytest.approx(1234.5)


def test_every_row_problem_reported():
    with pytest.raises(InputError) as caught:
        parse_csv(
            "A,,95,10,,operating,,\n"
            "B,,10,-181,,operating,,\n"
            "C,,abc,10,,operating,,\n"
            "D,,0,0,,operating,,\n"
            "E,,10,10,,sold,,\n"
            "F,,10,10,,operating,-5,\n"
            "G,,,10,,operating,,\n"
        )
    problems = problems_of(caught.value)
    located = {(p["row"], p["field"]) for p in problems}
    assert (2, "latitude") in located
    assert (3, "longitude") in located
    assert (4, "latitude") in located
    assert (5, "latitude") in located
    assert (6, "status") in located
    assert (7, "amount") in located
    assert (8, "latitude") in located
    assert len(problems) == 7


def test_zero_zero_reason():
    with pytest.raises(InputError) as caught:
        parse_csv("A,,0,0,,operating,,\n")
    assert "0,0" in caught.value.problems[0].reason


def test_problems_never_quote_values():
    secret = "Zyxwvut Secret Mine"
    with pytest.raises(InputError) as caught:
        parse_csv(f"{secret},{secret},91.5,10,{secret},{secret},{secret},{secret}\n")
    text = caught.value.message + json.dumps(problems_of(caught.value))
    assert secret not in text
    assert "91.5" not in text


def test_missing_coordinate_columns():
    with pytest.raises(InputError) as caught:
        parse_mining_assets(b"name\nA\n", "text/csv", LIMITS)
    fields = {p["field"] for p in problems_of(caught.value)}
    assert fields == {"latitude", "longitude"}


def test_json_problems_name_list_index():
    body = json.dumps(
        {
            "assets": [
                {"latitude": 10, "longitude": 10},
                {"latitude": 99, "longitude": 1},
            ]
        }
    )
    with pytest.raises(InputError) as caught:
        parse_mining_assets(body.encode(), "application/json", LIMITS)
    assert problems_of(caught.value) == [
        {
            "reason": "out of range: must be between -90 and 90",
            "field": "assets[1].latitude",
        }
    ]


def test_row_limit():
    limits = InputLimits(max_rows=2)
    with pytest.raises(PayloadTooLarge):
        parse_mining_assets(
            (HEADER + "A,,1,1,,,,\nB,,2,2,,,,\nC,,3,3,,,,\n").encode(),
            "text/csv",
            limits,
        )


def test_row_error_cap():
    limits = InputLimits(max_row_errors=3)
    rows = "".join(f"M{i},,99,1,,,,\n" for i in range(10))
    with pytest.raises(InputError) as caught:
        parse_mining_assets((HEADER + rows).encode(), "text/csv", limits)
    assert len(caught.value.problems) == 3
    assert caught.value.truncated


def test_row_error_cap_counts_problems():
    limits = InputLimits(max_row_errors=3)
    # Each row has two problems: the latitude and the status.
    rows = "".join(f"M{i},,99,1,,bogus,,\n" for i in range(10))
    with pytest.raises(InputError) as caught:
        parse_mining_assets((HEADER + rows).encode(), "text/csv", limits)
    message = str(caught.value)
    assert "20 problems found" in message
    assert "The first 3 are listed (MAX_ROW_ERRORS)" in message


def test_uncapped_row_errors_message():
    with pytest.raises(InputError) as caught:
        parse_csv("A,,99,1,,,,\nB,,98,1,,,,\n")
    assert str(caught.value).endswith("fix the 2 listed problems.")


def test_duplicates_reported(data):
    assets = parse_csv(
        "A,Co,-24.3,-69.1,,,,\nB,Co,-24.3,-69.1,,,,\nA,Co,-24.3,-69.1,,,,\n"
    )
    result = dashboard(assets, data)
    duplicates = [w for w in result["warnings"] if "duplicate" in w["reason"]]
    assert duplicates == [
        {
            "reason": "duplicate of row 2: same location, name and company",
            "row": 4,
            "field": "latitude",
        }
    ]


def test_swapped_coordinates_reported(data):
    # Johannesburg written as (longitude, latitude) lands in the Atlantic.
    assets = parse_csv("J,,28.0473,-26.2041,,operating,,\n")
    result = dashboard(assets, data)
    reasons = [w["reason"] for w in result["warnings"] if w["row"] == 2]
    assert any(reason.startswith("probably swapped") for reason in reasons)
    assert result["assets"][0]["ecoregion"] is None
    assert result["assets"][0]["tier"] == "unrated"


def test_point_on_land_not_reported_as_swapped(data):
    assets = parse_csv("J,,-26.2041,28.0473,,operating,,\n")
    result = dashboard(assets, data)
    assert result["warnings"] == []


def test_stated_country_mismatch_warned(data):
    assets = parse_csv(
        "P,,48.8566,2.3522,,operating,,Germany\nQ,,48.8566,2.3522,,operating,,FR\n"
    )
    result = dashboard(assets, data)
    assert result["warnings"] == [
        {
            "reason": "the stated country does not contain the point",
            "row": 2,
            "field": "country",
        }
    ]
    assert result["assets"][0]["country"]["iso3"] == "FRA"


def test_unknown_country_warned(data):
    assets = parse_csv("P,,48.8566,2.3522,,operating,,Atlantis\n")
    result = dashboard(assets, data)
    assert result["warnings"][0]["field"] == "country"
    assert "not recognised" in result["warnings"][0]["reason"]


def test_coastal_asset_flagged(data):
    assets = parse_csv("R,,64.13,-21.9,,operating,,\n")
    asset = dashboard(assets, data)["assets"][0]
    assert asset["ecoregion"]["nearest_fallback"] is True
    assert 0 < asset["ecoregion"]["distance_km"] <= 25
    assert asset["tier"] != "unrated"


def test_asset_country_and_ecoregion(data):
    assets = parse_csv("Escondida,,-24.27,-69.07,copper,operating,10,\n")
    result = dashboard(assets, data)
    asset = result["assets"][0]
    assert asset["country"] == {"iso3": "CHL", "name": "Chile", "source": "polygon"}
    assert asset["ecoregion"]["name"] == "Atacama desert"
    ecoregion = result["ecoregions"][str(asset["ecoregion"]["eco_id"])]
    assert ecoregion["name"] == "Atacama desert"
    assert ecoregion["biome"] == "Deserts & Xeric Shrublands"
    assert ecoregion["realm"] == "Neotropic"
    assert ecoregion["nnh_category"] == "Nature Could Reach Half Protected"
    assert asset["ecoregion"]["nearest_fallback"] is False


def test_tiers_follow_rules(data):
    assets = parse_csv(
        "Iowa op,,41.96,-93.46,,operating,100,\n"  # Nature Imperiled
        "Iowa closed,,41.96,-93.46,,closed,100,\n"
        "Nevada,,39.5,-116.9,,development,100,\n"  # NNH 2
        "Nevada closed,,39.5,-116.9,,closed,100,\n"
        "Greenland,,72.0,-40.0,,operating,100,\n"  # rock and ice
        "Sea,,30.0,-40.0,,operating,100,\n"
    )
    tiers = [a["tier"] for a in dashboard(assets, data)["assets"]]
    assert tiers == ["tier_1", "tier_2", "tier_2", "tier_3", "tier_3", "unrated"]


def test_unknown_status_treated_as_operating(data):
    assets = parse_csv("Iowa,,41.96,-93.46,,,,\n")
    asset = dashboard(assets, data)["assets"][0]
    assert asset["tier"] == "tier_1"
    assert "status unknown: treated as operating" in asset["tier_reasons"]


def test_portfolio_figures(data):
    assets = parse_csv(
        "Iowa,,41.96,-93.46,,operating,300,\n"
        "Nevada,,39.5,-116.9,,operating,100,\n"
        "Sea,,30.0,-40.0,,operating,50,\n"
    )
    result = dashboard(assets, data)
    portfolio = result["portfolio"]
    tiers = {row["tier"]: row for row in portfolio["by_tier"]}
    assert tiers["tier_1"] == {"tier": "tier_1", "assets": 1, "exposure": 300.0}
    assert tiers["unrated"]["exposure"] == 50.0
    assert portfolio["nature_imperiled"]["assets"] == 1
    assert portfolio["nature_imperiled"]["share_of_located_assets"] == pytest.approx(
        0.5
    )
    assert portfolio["nature_imperiled"]["share_of_located_exposure"] == pytest.approx(
        0.75
    )
    nnh = {row["nnh_category"]: row["assets"] for row in portfolio["by_nnh_category"]}
    assert nnh == {"Nature Could Reach Half Protected": 1, "Nature Imperiled": 1}
    biomes = {row["biome"] for row in portfolio["by_biome"]}
    assert biomes == {
        "Temperate Grasslands, Savannas & Shrublands",
        "Deserts & Xeric Shrublands",
    }
    assert result["summary"]["not_located"] == 1
    assert portfolio["star_threat_abatement_concentration"] is None


def test_without_packs_indicators_absent(data):
    result = dashboard(parse_csv("Iowa,,41.96,-93.46,,operating,,\n"), data)
    assert result["assets"][0]["indicators"] == {}
    assert len(result["indicators"]["missing"]) == 5
    assert result["layer_packs"] == []


def test_attribution_and_simplification_stated(data):
    result = dashboard(parse_csv("Iowa,,41.96,-93.46,,operating,,\n"), data)
    datasets = {d["id"]: d for d in result["datasets"]}
    assert "RESOLVE" in datasets["resolve_ecoregions_2017"]["attribution"]
    assert datasets["resolve_ecoregions_2017"]["simplified"] is True
    assert datasets["natural_earth_admin0_110m"]["simplified"] is True
    assert "FAOSTAT" in datasets["faostat_crop_yields"]["attribution"]


def star_and_distance_packs(root):
    star = write_pack(
        root,
        "star",
        kind="grid",
        indicators=[
            {
                "id": "star_threat_abatement",
                "units": "STAR",
                "radius_aggregation": "sum",
            }
        ],
        header=["lat", "lon", "star_threat_abatement"],
        rows=[[41.75, -93.25, 90.0], [39.25, -116.75, 6.0], [-24.25, -69.25, 4.0]],
        cell_size_degrees=0.5,
    )
    distance = write_pack(
        root,
        "kba",
        kind="grid",
        indicators=[
            {"id": "kba_distance_km", "units": "km", "radius_aggregation": "min"}
        ],
        header=["lat", "lon", "kba_distance_km"],
        rows=[[39.25, -116.75, 3.0], [-24.25, -69.25, 40.0]],
        cell_size_degrees=0.5,
    )
    return [load_pack(star), load_pack(distance)]


def test_star_concentration_and_tiers(data, tmp_path):
    packs = star_and_distance_packs(tmp_path)
    assets = parse_csv(
        "Iowa,,41.96,-93.46,,operating,,\n"
        "Nevada,,39.4,-116.9,,operating,,\n"
        "Atacama,,-24.3,-69.1,,operating,,\n"
    )
    result = dashboard(assets, data, packs, radius_km=5)
    star = result["portfolio"]["star_threat_abatement_concentration"]
    assert star["assets_scored"] == 3
    assert star["score_total"] == pytest.approx(100.0)
    assert star["assets_holding_half"] == 1
    assert star["share_of_assets"] == pytest.approx(1 / 3)
    tiers = [a["tier"] for a in result["assets"]]
    # Nevada is NNH 2 but 3 km from a KBA; Atacama is 40 km away.
    assert tiers == ["tier_1", "tier_1", "tier_2"]
    indicators = result["assets"][2]["indicators"]
    assert indicators["star_threat_abatement"]["value"] == 4.0
    assert indicators["kba_distance_km"]["value"] == 40.0
    missing = {entry["id"] for entry in result["indicators"]["missing"]}
    assert "star_threat_abatement" not in missing
    assert "kba_distance_km" not in missing
    assert "protected_area_distance_km" in missing


def test_records_round_trip(data):
    assets = parse_csv("A,Co,-24.3,-69.1,copper,closed,5,CL\nB,,41.96,-93.46,,,,\n")
    stored = json.loads(json.dumps(assets.to_records()))
    rebuilt = MiningAssets.from_records(stored)
    assert dashboard(rebuilt, data)["assets"] == dashboard(assets, data)["assets"]


def test_stated_country_far_from_point_warned(data):
    # Mid-Atlantic, but stated as France.
    assets = parse_csv("P,,30.0,-40.0,,operating,,FR\n")
    result = dashboard(assets, data)
    reasons = [w["reason"] for w in result["warnings"] if w["field"] == "country"]
    assert reasons == ["the stated country does not contain the point"]


def test_stated_country_near_coast_accepted(data):
    # 9 km off the simplified Chilean coastline near Antofagasta.
    assets = parse_csv("A,,-23.65,-70.5,,operating,,Chile\n")
    result = dashboard(assets, data)
    assert result["warnings"] == []
    assert result["assets"][0]["country"] == {
        "iso3": "CHL",
        "name": "Chile",
        "source": "stated",
    }


def test_coastal_country_from_nearest_polygon(data):
    assets = parse_csv("A,,-23.65,-70.5,,operating,,\n")
    country = dashboard(assets, data)["assets"][0]["country"]
    assert country == {"iso3": "CHL", "name": "Chile", "source": "nearest_polygon"}


def test_whitespace_row_skipped():
    text = "A,Q,-24.27,-69.07,copper,,,CL\n  ,  ,  ,  ,  ,  ,  ,  \n"
    assets = parse_csv(text + "B,Q,45.0,7.0,gold,,,IT\n")
    assert assets.rows.tolist() == [2, 4]


def test_whitespace_rows_only_rejected():
    with pytest.raises(InputError) as caught:
        parse_csv("  ,  ,  ,  ,  ,  ,  ,  \n")
    assert problems_of(caught.value) == [{"reason": "no assets"}]


def test_amount_sum_over_maximum_rejected():
    with pytest.raises(InputError) as caught:
        parse_csv("A,Q,45,7,gold,,1.7e308,IT\nB,Q,46,7,gold,,1.7e308,IT\n")
    fields = [(p["row"], p["field"]) for p in problems_of(caught.value)]
    assert fields == [(2, "amount"), (3, "amount")]


@pytest.mark.parametrize(
    ("line", "iso3"),
    [
        ("Jurong,Q,1.3521,103.8198,,,,SG", "SGP"),
        ("Andorra la Vella,Q,42.5,1.52,,,,AD", "AND"),
        ("Vaduz,Q,47.14,9.52,,,,LI", "LIE"),
    ],
)
def test_stated_country_without_polygon_kept(data, line, iso3):
    # Each point lies inside a neighbour's simplified polygon, near its edge.
    result = dashboard(parse_csv(line + "\n"), data)
    country = result["assets"][0]["country"]
    assert country["iso3"] == iso3
    assert country["source"] == "stated"
    assert result["warnings"][0]["reason"].startswith("the stated country is kept")


def test_stated_country_without_polygon_far_from_edge(data):
    # Central Malaysia, more than 25 km from the polygon's coasts and borders.
    result = dashboard(parse_csv("Pahang,Q,3.8,102.3,,,,SG\n"), data)
    country = result["assets"][0]["country"]
    assert country["iso3"] == "MYS"
    assert country["source"] == "polygon"
    assert "could not be checked" in result["warnings"][0]["reason"]


@pytest.mark.parametrize("lon", [179.9, -179.9])
def test_antimeridian_cut_is_not_an_edge(data, lon):
    # Inside Chukotka, more than 25 km from its coasts but less from 180 degrees,
    # where the Russian polygon is cut in two.
    result = dashboard(parse_csv(f"A,Q,68.5,{lon},,,,SG\n"), data)
    country = result["assets"][0]["country"]
    assert country["iso3"] == "RUS"
    assert country["source"] == "polygon"
    assert "could not be checked" in result["warnings"][0]["reason"]


def test_stated_country_kept_only_with_fallback(data):
    result = dashboard(
        parse_csv("Jurong,Q,1.3521,103.8198,,,,SG\n"), data, fallback_km=0
    )
    assert result["assets"][0]["country"]["iso3"] == "MYS"


def test_extra_cells_reported_with_other_rows():
    with pytest.raises(InputError) as caught:
        parse_csv(
            "A,Co,10,10,copper,operating,1000,FR,extra\n"
            "B,,95,10,,operating,,\n"
            "C,,10,10,,sold,,\n"
        )

    located = [(p["row"], p.get("field")) for p in problems_of(caught.value)]
    assert located == [(2, None), (3, "latitude"), (4, "status")]
