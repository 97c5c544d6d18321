"""Layer packs: loading, validation, and lookups by point, radius and country."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nature_risk.biodiversity import load_biodiversity
from nature_risk.biodiversity.geometry import haversine_km
from nature_risk.biodiversity.indicators import indicator_catalogue, point_indicators
from nature_risk.biodiversity.packs import LayerPackError, load_pack, load_packs
from nature_risk.config import ConfigurationError
from nature_risk.config.biodiversity import BiodiversitySettings

from tests.unit.biodiversity_support import load_data, write_pack

STAR = [
    {"id": "star_threat_abatement", "units": "STAR score", "radius_aggregation": "sum"}
]


def grid_pack(root, rows, **manifest):
    return write_pack(
        root,
        "star",
        kind="grid",
        indicators=STAR,
        header=["lat", "lon", "star_threat_abatement"],
        rows=rows,
        cell_size_degrees=manifest.pop("cell_size_degrees", 0.5),
        **manifest,
    )


def test_grid_pack_value_at_point(tmp_path):
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, 12.5], [48.75, 2.75, 3.0]]))
    values = pack.at_points(np.array([48.8566, 10.0]), np.array([2.3522, 10.0]))
    assert values[0, 0] == 12.5
    assert np.isnan(values[1, 0])


def test_grid_pack_sum_within_radius(tmp_path):
    # Paris lies about 11 km from the cell to the east, which starts at 2.5 E.
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, 12.5], [48.75, 2.75, 3.0]]))
    lat, lon = np.array([48.8566]), np.array([2.3522])
    within, cells = pack.within_radius(lat, lon, radius_km=20)
    assert within[0, 0] == pytest.approx(15.5)
    assert cells[0, 0] == 2
    within, cells = pack.within_radius(lat, lon, radius_km=5)
    assert within[0, 0] == pytest.approx(12.5)
    assert cells[0, 0] == 1


def test_grid_pack_radius_crosses_antimeridian(tmp_path):
    pack = load_pack(
        grid_pack(tmp_path, [[-17.75, -179.75, 4.0], [-17.75, 179.75, 1.0]])
    )
    within, cells = pack.within_radius(np.array([-17.8]), np.array([179.99]), 10)
    assert cells[0, 0] == 2
    assert within[0, 0] == pytest.approx(5.0)


def test_grid_pack_empty_cells_give_no_value(tmp_path):
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, ""]]))
    within, cells = pack.within_radius(np.array([48.8]), np.array([2.3]), 10)
    assert np.isnan(pack.at_points(np.array([48.8]), np.array([2.3]))[0, 0])
    assert np.isnan(within[0, 0])
    assert cells[0, 0] == 0


def test_country_pack_lookup(tmp_path):
    folder = write_pack(
        tmp_path,
        "bii",
        kind="country",
        indicators=[{"id": "biodiversity_intactness"}],
        units="fraction",
        header=["country", "biodiversity_intactness"],
        rows=[["FRA", 0.62], ["BRA", 0.81]],
    )
    pack = load_pack(folder)
    assert pack.by_country("FRA")[0] == pytest.approx(0.62)
    assert pack.by_country("DEU") is None
    assert pack.indicators[0].units == "fraction"


def test_country_commodity_pack_lookup(tmp_path):
    folder = write_pack(
        tmp_path,
        "risk",
        kind="country_commodity",
        indicators=[{"id": "deforestation_risk", "units": "index"}],
        header=["country", "commodity", "deforestation_risk"],
        rows=[["BRA", "soybeans", 0.9], ["BRA", "wheat", 0.1]],
    )
    pack = load_pack(folder)
    assert pack.by_country("BRA", "soybeans")[0] == pytest.approx(0.9)
    assert pack.by_country("BRA", "maize") is None
    assert pack.by_country("BRA") is None


def test_no_packs_folder_gives_no_packs():
    assert load_packs(None) == []


def test_catalogue_without_packs_lists_every_known_indicator_missing():
    catalogue = indicator_catalogue([], "mining")
    assert catalogue["available"] == []
    missing = {entry["id"] for entry in catalogue["missing"]}
    assert missing == {
        "star_threat_abatement",
        "star_restoration",
        "protected_area_distance_km",
        "kba_distance_km",
        "biodiversity_intactness",
    }


def test_catalogue_with_star_pack(tmp_path):
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, 1.0]]))
    catalogue = indicator_catalogue([pack], "mining")
    assert [entry["id"] for entry in catalogue["available"]] == [
        "star_threat_abatement"
    ]
    assert "star_threat_abatement" not in {e["id"] for e in catalogue["missing"]}


def test_grid_pack_not_applicable_to_agriculture(tmp_path):
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, 1.0]]))
    catalogue = indicator_catalogue([pack], "agriculture")
    assert catalogue["available"] == []
    assert catalogue["not_applicable"][0]["id"] == "star_threat_abatement"


def test_point_indicators_without_data_are_none(tmp_path):
    pack = load_pack(grid_pack(tmp_path, [[48.75, 2.25, 7.0]]))
    values = point_indicators(
        [pack],
        np.array([48.8, 0.5]),
        np.array([2.3, 0.5]),
        ["FRA", None],
        [None, None],
        radius_km=10,
    )
    assert values.for_item(0)["star_threat_abatement"]["value"] == 7.0
    assert values.for_item(1)["star_threat_abatement"]["value"] is None
    assert values.for_item(1)["star_threat_abatement"]["within_radius"] is None


def test_two_packs_with_same_indicator_rejected(tmp_path):
    grid_pack(tmp_path, [[48.75, 2.25, 1.0]])
    write_pack(
        tmp_path,
        "star_copy",
        kind="country",
        indicators=STAR,
        header=["country", "star_threat_abatement"],
        rows=[["FRA", 1]],
    )
    with pytest.raises(LayerPackError, match="both provide"):
        load_packs(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "name is missing"),
        ({"licence": None}, "licence is missing"),
        ({"attribution": 5}, "attribution is missing"),
        ({"kind": "raster"}, "kind must be one of"),
        ({"indicators": []}, "indicators must be a non-empty list"),
        ({"indicators": [{"id": "Bad Id", "units": "x"}]}, "id must be lower-case"),
        ({"indicators": [{"id": "star"}]}, "units is missing"),
        (
            {"indicators": [{"id": "a", "units": "x", "radius_aggregation": "median"}]},
            "radius_aggregation",
        ),
        ({"cell_size_degrees": 0.7}, "cell_size_degrees"),
        ({"table": "../data.csv"}, "table must be a file name"),
    ],
)
def test_invalid_manifest_rejected(tmp_path, change, message):
    folder = grid_pack(tmp_path, [[48.75, 2.25, 1.0]])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(change)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LayerPackError, match=message):
        load_pack(folder)


def test_manifest_not_json_rejected(tmp_path):
    folder = grid_pack(tmp_path, [[48.75, 2.25, 1.0]])
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(LayerPackError, match="not readable JSON"):
        load_pack(folder)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[48.7, 2.25, 1.0]], "not a cell centre"),
        ([[48.75, 2.25, "many"]], "is not a number"),
        ([[48.75, 2.25, "inf"]], "is not finite"),
        ([[48.75, 2.25, 1.0], [48.75, 2.25, 2.0]], "same key as an earlier row"),
        ([[95.25, 2.25, 1.0]], "not a cell centre"),
    ],
)
def test_invalid_grid_table_rejected(tmp_path, rows, message):
    with pytest.raises(LayerPackError, match=message):
        load_pack(grid_pack(tmp_path, rows))


def test_table_missing_column_rejected(tmp_path):
    folder = write_pack(
        tmp_path,
        "bii",
        kind="country",
        indicators=[{"id": "biodiversity_intactness", "units": "fraction"}],
        header=["iso", "biodiversity_intactness"],
        rows=[["FRA", 0.5]],
    )
    with pytest.raises(LayerPackError, match="lacks columns country"):
        load_pack(folder)


def test_country_code_must_be_iso3(tmp_path):
    folder = write_pack(
        tmp_path,
        "bii",
        kind="country",
        indicators=[{"id": "biodiversity_intactness", "units": "fraction"}],
        header=["country", "biodiversity_intactness"],
        rows=[["FR", 0.5]],
    )
    with pytest.raises(LayerPackError, match="not ISO alpha-3"):
        load_pack(folder)


def test_settings_read_environment(tmp_path, biodiversity_dir):
    settings = BiodiversitySettings.from_env(
        {
            "BIODIVERSITY_DATA_DIR": str(biodiversity_dir),
            "BIODIVERSITY_PACKS_DIR": str(tmp_path),
            "BIODIVERSITY_RADIUS_KM": "5",
            "BIODIVERSITY_COASTAL_FALLBACK_KM": "0",
        }
    )
    assert settings.packs_dir == tmp_path
    assert settings.radius_km == 5
    assert settings.coastal_fallback_km == 0


def test_settings_defaults(biodiversity_dir):
    settings = BiodiversitySettings.from_env(
        {"BIODIVERSITY_DATA_DIR": str(biodiversity_dir)}
    )
    assert settings.packs_dir is None
    assert settings.radius_km == 10
    assert settings.coastal_fallback_km == 25


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BIODIVERSITY_PACKS_DIR", "/nonexistent/packs", "BIODIVERSITY_PACKS_DIR"),
        ("BIODIVERSITY_RADIUS_KM", "ten", "BIODIVERSITY_RADIUS_KM"),
        ("BIODIVERSITY_RADIUS_KM", "0", "at least 1"),
    ],
)
def test_settings_reject_bad_values(biodiversity_dir, variable, value, message):
    env = {"BIODIVERSITY_DATA_DIR": str(biodiversity_dir), variable: value}
    with pytest.raises(ConfigurationError, match=message):
        BiodiversitySettings.from_env(env)


def test_load_biodiversity_validates_packs(tmp_path, biodiversity_dir):
    folder = grid_pack(tmp_path, [[48.75, 2.25, 1.0]])
    (folder / "manifest.json").write_text("[]")
    settings = BiodiversitySettings(biodiversity_dir, packs_dir=tmp_path)
    with pytest.raises(LayerPackError, match="must be a JSON object"):
        load_biodiversity(settings)


def brute_force_sum(rows, lat, lon, radius_km, size):
    """Sum every cell whose clamped nearest point is within the radius."""
    total, count = 0.0, 0
    for cell_lat, cell_lon, value in rows:
        south, west = cell_lat - size / 2, cell_lon - size / 2
        near_lat = min(max(lat, south), south + size)
        offset = (lon - west + 180.0) % 360.0 - 180.0
        near_lon = west + min(max(offset, 0.0), size)
        km = haversine_km(
            np.array([lat]), np.array([lon]), np.array([near_lat]), np.array([near_lon])
        )[0]
        if km <= radius_km:
            total += value
            count += 1
    return total, count


def test_radius_sum_matches_brute_force(tmp_path):
    size = 0.25
    rng = np.random.default_rng(11)
    # Cells clustered near the test points, the antimeridian and a pole.
    centres = set()
    for lat0, lon0 in [(10.0, 20.0), (-17.8, 179.9), (88.0, 0.0), (60.0, -100.0)]:
        for _ in range(150):
            lat = lat0 + rng.integers(-6, 7) * size
            lon = lon0 + rng.integers(-12, 13) * size
            lon = (lon + 180.0) % 360.0 - 180.0
            row = np.floor((lat + 90) / size)
            col = np.floor((lon + 180) / size)
            if 0 <= row < 180 / size:
                centres.add((row * size - 90 + size / 2, col * size - 180 + size / 2))
    rows = [[lat, lon, float(rng.integers(1, 9))] for lat, lon in sorted(centres)]
    pack = load_pack(grid_pack(tmp_path, rows, cell_size_degrees=size))
    points = [
        (10.1, 20.05),
        (-17.8, 179.99),
        (-17.8, -179.99),
        (88.3, 10.0),
        (60.0, -100.1),
    ]
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    within, cells = pack.within_radius(lat, lon, radius_km=40)
    for i, (plat, plon) in enumerate(points):
        expected, expected_cells = brute_force_sum(rows, plat, plon, 40, size)
        assert cells[i, 0] == expected_cells
        if expected_cells:
            assert within[i, 0] == pytest.approx(expected)
        else:
            assert np.isnan(within[i, 0])


def distance_pack(root, units, rows):
    return write_pack(
        root,
        "distances",
        kind="grid",
        indicators=[{"id": "protected_area_distance_km", "units": units}],
        header=["lat", "lon", "protected_area_distance_km"],
        rows=rows,
        cell_size_degrees=0.5,
    )


def test_distance_pack_in_metres_rejected(tmp_path):
    folder = distance_pack(tmp_path, "m", [[48.75, 2.25, 5000.0]])
    with pytest.raises(LayerPackError, match="units must be km") as caught:
        load_pack(folder)
    assert caught.value.pack == "distances"
    assert caught.value.location == "indicators[0].units"


def test_distance_pack_in_km_loads(tmp_path):
    pack = load_pack(distance_pack(tmp_path, "km", [[48.75, 2.25, 5.0]]))
    assert pack.indicators[0].units == "km"


def test_negative_distance_rejected(tmp_path):
    folder = distance_pack(tmp_path, "km", [[48.75, 2.25, 1.0], [48.75, 2.75, -5]])
    with pytest.raises(LayerPackError, match="row 3 column .* is negative") as caught:
        load_pack(folder)
    assert caught.value.location == "table row 3"


def test_negative_star_score_rejected(tmp_path):
    with pytest.raises(LayerPackError, match="is negative"):
        load_pack(grid_pack(tmp_path, [[48.75, 2.25, -0.1]]))


def test_unknown_pack_indicator_may_be_negative(tmp_path):
    folder = write_pack(
        tmp_path,
        "change",
        kind="grid",
        indicators=[{"id": "forest_change", "units": "%"}],
        header=["lat", "lon", "forest_change"],
        rows=[[48.75, 2.25, -3.5]],
        cell_size_degrees=0.5,
    )
    pack = load_pack(folder)
    assert pack.cell_values[0, 0] == -3.5


@pytest.mark.parametrize("size", [1e-6, 0.005])
def test_tiny_cell_size_rejected(tmp_path, size):
    folder = grid_pack(tmp_path, [[0.0000005, 0.0000005, 1.0]], cell_size_degrees=size)
    with pytest.raises(LayerPackError, match="between 0.01 and 10") as caught:
        load_pack(folder)
    assert caught.value.location == "cell_size_degrees"


def test_smallest_cell_size_loads(tmp_path):
    folder = grid_pack(tmp_path, [[48.755, 2.255, 1.0]], cell_size_degrees=0.01)
    pack = load_pack(folder)
    assert pack.cell_size_degrees == 0.01


def bii_pack(root, rows):
    return write_pack(
        root,
        "bii",
        kind="country",
        indicators=[{"id": "biodiversity_intactness", "units": "fraction"}],
        header=["country", "biodiversity_intactness"],
        rows=rows,
    )


def test_unknown_country_code_rejected(tmp_path, biodiversity_dir):
    bii_pack(tmp_path, [["FRA", 0.5], ["ZZZ", 0.4]])
    data = load_data(biodiversity_dir)
    with pytest.raises(LayerPackError, match="row 3 country is not a known ISO"):
        load_packs(tmp_path, data.countries.countries.keys())


def test_known_country_codes_load(tmp_path, biodiversity_dir):
    bii_pack(tmp_path, [["FRA", 0.5], ["KOS", 0.4]])
    data = load_data(biodiversity_dir)
    [pack] = load_packs(tmp_path, data.countries.countries.keys())
    assert pack.by_country("KOS")[0] == 0.4


def test_cells_within_radius_per_indicator(tmp_path):
    # STAR-R has no value in the cell, so it counts no cell while STAR-T counts one.
    folder = write_pack(
        tmp_path,
        "star",
        kind="grid",
        indicators=[
            {"id": "star_threat_abatement", "column": "star_t"},
            {"id": "star_restoration", "column": "star_r"},
        ],
        units="STAR score",
        header=["lat", "lon", "star_t", "star_r"],
        rows=[[41.75, -93.25, 0.9, ""]],
        cell_size_degrees=0.5,
    )
    pack = load_pack(folder)
    lat, lon = np.array([41.8]), np.array([-93.3])
    values = point_indicators([pack], lat, lon, ["USA"], [None], radius_km=10).for_item(
        0
    )
    assert values["star_threat_abatement"]["cells_within_radius"] == 1
    assert values["star_restoration"]["cells_within_radius"] == 0
    assert values["star_restoration"]["within_radius"] is None


def test_header_only_table_rejected(tmp_path):
    with pytest.raises(LayerPackError, match="table has no rows"):
        load_pack(bii_pack(tmp_path, []))


@pytest.mark.parametrize(
    "rows", [[["FRA", 0.5, 9], ["DEU", 0.4]], [["FRA", 0.5], ["DEU", 0.4, 9]]]
)
def test_row_longer_than_header_rejected(tmp_path, rows):
    with pytest.raises(LayerPackError, match="data.csv") as caught:
        load_pack(bii_pack(tmp_path, rows))
    assert "ISO" not in str(caught.value)
    assert caught.value.location == "table"


@pytest.mark.parametrize("value", ["1.7e308", "-2e15"])
def test_huge_pack_value_rejected(tmp_path, value):
    # Two such cells summed within a radius would overflow to infinity.
    folder = write_pack(
        tmp_path,
        "change",
        kind="grid",
        indicators=[{"id": "forest_change", "units": "%"}],
        header=["lat", "lon", "forest_change"],
        rows=[[48.75, 2.25, 1.0], [48.75, 2.75, value]],
        cell_size_degrees=0.5,
    )
    with pytest.raises(LayerPackError, match="row 3 column forest_change is larger"):
        load_pack(folder)
