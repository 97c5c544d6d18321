"""Point lookups on the real open data: countries, ecoregions, fallbacks, areas."""

from __future__ import annotations

import numpy as np
import pytest
import shapefile
import shapely
from nature_risk.biodiversity.ecoregions import SHAPEFILE
from nature_risk.biodiversity.geometry import (
    distance_across_antimeridian_km,
    edges_off_antimeridian,
    equal_area_km2,
    haversine_km,
    polygons_from_shapes,
)

from tests.unit.biodiversity_support import load_data

# (place, latitude, longitude, ISO alpha-3, ecoregion, realm, NNH category)
KNOWN_PLACES = [
    (
        "Paris",
        48.8566,
        2.3522,
        "FRA",
        "European Atlantic mixed forests",
        "Palearctic",
        3,
    ),
    (
        "Madrid",
        40.4168,
        -3.7038,
        "ESP",
        "Iberian sclerophyllous and semi-deciduous forests",
        "Palearctic",
        3,
    ),
    ("Yakutsk", 62.03, 129.73, "RUS", "East Siberian taiga", "Palearctic", 2),
    ("Ulaanbaatar", 47.92, 106.92, "MNG", "Daurian forest steppe", "Palearctic", 2),
    ("Atacama", -24.3, -69.1, "CHL", "Atacama desert", "Neotropic", 2),
    (
        "Delhi",
        28.6139,
        77.209,
        "IND",
        "Upper Gangetic Plains moist deciduous forests",
        "Indomalayan",
        4,
    ),
    ("Sumatra", 0.5, 101.5, "IDN", "Sumatran lowland rain forests", "Indomalayan", 2),
    ("Borneo", 1.0, 114.0, "IDN", "Borneo montane rain forests", "Indomalayan", None),
    (
        "Nairobi",
        -1.2921,
        36.8219,
        "KEN",
        "East African montane forests",
        "Afrotropic",
        3,
    ),
    ("Johannesburg", -26.2041, 28.0473, "ZAF", "Highveld grasslands", "Afrotropic", 4),
    ("Madagascar", -19.0, 47.0, "MDG", "Madagascar subhumid forests", "Afrotropic", 4),
    (
        "Copperbelt",
        -12.8,
        28.2,
        "ZMB",
        "Central Zambezian wet miombo woodlands",
        "Afrotropic",
        3,
    ),
    (
        "Manaus",
        -3.119,
        -60.0217,
        "BRA",
        "Japurá-Solimões-Negro moist forests",
        "Neotropic",
        1,
    ),
    ("Brasilia", -15.7939, -47.8828, "BRA", "Cerrado", "Neotropic", 3),
    ("La Paz", -16.5, -68.15, "BOL", "Central Andean wet puna", "Neotropic", 3),
    ("Iowa", 41.96, -93.46, "USA", "Central Tallgrass prairie", "Nearctic", 4),
    ("Nevada", 39.5, -116.9, "USA", "Great Basin shrub steppe", "Nearctic", 2),
    ("Alberta", 56.7, -111.4, "CAN", "Mid-Canada Boreal Plains forests", "Nearctic", 2),
    (
        "Alice Springs",
        -23.7,
        133.88,
        "AUS",
        "Central Ranges xeric scrub",
        "Australasia",
        2,
    ),
    ("Kalgoorlie", -30.75, 121.47, "AUS", "Coolgardie woodlands", "Australasia", 2),
    (
        "PNG highlands",
        -6.0,
        145.0,
        "PNG",
        "Central Range Papuan montane rain forests",
        "Australasia",
        2,
    ),
    ("Fiji", -17.8, 178.0, "FJI", "Fiji tropical moist forests", "Oceania", 2),
    ("Hawaii", 19.6, -155.5, "USA", "Hawai'i tropical high shrublands", "Oceania", 3),
    (
        "Antarctic Peninsula",
        -63.89,
        -57.93,
        "ATA",
        "Northeast Antarctic Peninsula tundra",
        "Antarctica",
        1,
    ),
    (
        "Prince Charles Mountains",
        -73.49,
        61.67,
        "ATA",
        "Prince Charles Mountains tundra",
        "Antarctica",
        1,
    ),
    ("Greenland ice", 72.0, -40.0, "GRL", "Rock and Ice", "Rock and Ice", 0),
]


@pytest.fixture(scope="module")
def data(biodiversity_dir):
    return load_data(biodiversity_dir)


def test_known_places_cover_every_realm():
    realms = {place[5] for place in KNOWN_PLACES}
    assert realms >= {
        "Afrotropic",
        "Antarctica",
        "Australasia",
        "Indomalayan",
        "Nearctic",
        "Neotropic",
        "Oceania",
        "Palearctic",
    }
    assert len(KNOWN_PLACES) >= 20


@pytest.mark.parametrize(
    ("place", "lat", "lon", "iso3", "ecoregion", "realm", "nnh"),
    KNOWN_PLACES,
    ids=[place[0] for place in KNOWN_PLACES],
)
def test_known_place_country_and_ecoregion(
    data, place, lat, lon, iso3, ecoregion, realm, nnh
):
    located = data.locate(np.array([lat]), np.array([lon]), fallback_km=25)
    country = located.country[0]
    eco = located.ecoregion[0]
    assert country >= 0
    assert data.countries.polygon_iso3[country] == iso3
    assert not located.country_fallback[0]
    assert eco >= 0
    record = data.ecoregions.records[eco]
    assert record.name == ecoregion
    assert record.realm == realm
    assert not located.ecoregion_fallback[0]
    if nnh is not None:
        assert record.nnh == nnh


def test_point_in_ocean_is_not_located(data):
    located = data.locate(np.array([30.0]), np.array([-40.0]), fallback_km=25)
    assert located.country[0] == -1
    assert located.ecoregion[0] == -1
    assert not located.ecoregion_fallback[0]


def test_coastal_point_uses_nearest_ecoregion(data):
    # Reykjavik lies just off the simplified coastline of Iceland.
    located = data.locate(np.array([64.13]), np.array([-21.9]), fallback_km=25)
    eco = located.ecoregion[0]
    assert eco >= 0
    assert located.ecoregion_fallback[0]
    assert 0 < located.ecoregion_distance_km[0] <= 25
    assert data.ecoregions.records[eco].realm == "Palearctic"


def test_coastal_fallback_respects_distance(data):
    located = data.locate(np.array([64.13]), np.array([-21.9]), fallback_km=1)
    assert located.ecoregion[0] == -1


def test_fallback_off_keeps_point_unlocated(data):
    located = data.locate(np.array([64.13]), np.array([-21.9]), fallback_km=0)
    assert located.ecoregion[0] == -1
    assert not located.ecoregion_fallback.any()


def test_vector_lookup_matches_scalar(data):
    rng = np.random.default_rng(7)
    lat = rng.uniform(-60, 75, 500)
    lon = rng.uniform(-180, 180, 500)
    located = data.locate(lat, lon, fallback_km=0)
    for i in range(0, 500, 25):
        point = shapely.Point(lon[i], lat[i])
        hits = [
            j
            for j, polygon in enumerate(data.ecoregions.polygons)
            if polygon.intersects(point)
        ]
        expected = min(hits) if hits else -1
        assert located.ecoregion[i] == expected


def test_polygons_match_pyshp_geo_interface(biodiversity_dir):
    with shapefile.Reader(
        str(biodiversity_dir / SHAPEFILE), encoding="latin-1"
    ) as reader:
        shapes = reader.shapes()
    built = polygons_from_shapes(shapes)
    reference = np.array(
        [
            shapely.make_valid(shapely.geometry.shape(s.__geo_interface__))
            for s in shapes
        ]
    )
    assert len(built) == 847
    np.testing.assert_allclose(shapely.area(built), shapely.area(reference), rtol=1e-9)


def test_haversine_paris_london():
    km = haversine_km(
        np.array([48.8566]),
        np.array([2.3522]),
        np.array([51.5074]),
        np.array([-0.1278]),
    )
    assert km[0] == pytest.approx(343.5, abs=1.0)


def test_equal_area_one_degree_cell_at_equator():
    cell = shapely.box(0, 0, 1, 1)
    area = equal_area_km2(np.array([cell]))[0]
    assert area == pytest.approx(12_364, rel=0.005)


def test_country_area_australia(data):
    polygon = data.countries.polygons[data.countries.polygon_of["AUS"]]
    area = equal_area_km2(np.array([polygon]))[0]
    # Australia is about 7.69 million km²; 1:110m coastlines lose a little.
    assert area == pytest.approx(7.69e6, rel=0.03)


@pytest.mark.parametrize(
    ("lat", "lon"), [(-16.75, 179.999), (-16.75, -179.999), (62.75, -179.999)]
)
def test_coastal_fallback_wraps_antimeridian(data, lat, lon):
    # Fiji and Chukotka reach 180 degrees; points just east or west of it are
    # a few km from land on the other side.
    located = data.locate(np.array([lat]), np.array([lon]), fallback_km=25)
    assert located.ecoregion[0] >= 0
    assert located.ecoregion_fallback[0]
    assert located.ecoregion_distance_km[0] <= 25


def test_fallback_same_on_both_sides_of_180(data):
    located = data.locate(
        np.array([-16.75, -16.75]), np.array([179.999, -179.999]), fallback_km=25
    )
    assert located.ecoregion[0] == located.ecoregion[1]
    assert located.country[0] == located.country[1]
    assert (
        abs(located.ecoregion_distance_km[0] - located.ecoregion_distance_km[1]) < 0.5
    )


@pytest.mark.parametrize("lon", [180.0, -180.0, -179.99])
def test_country_fallback_crosses_180(data, lon):
    # The 1:110m Fiji polygon lacks Taveuni, so its nearest edge to these
    # points is 25.2 km away, on whichever side of 180 degrees the point is.
    located = data.locate(np.array([-16.8]), np.array([lon]), fallback_km=26)
    iso3 = data.countries.polygon_iso3[located.country[0]]
    assert iso3 == "FJI"
    assert located.country_fallback[0]
    assert located.country_distance_km[0] == pytest.approx(25.2, abs=0.5)


def test_country_fallback_same_at_both_180s(data):
    located = data.locate(np.array([-16.8, -16.8]), np.array([180.0, -180.0]), 26)
    assert located.country[0] == located.country[1]
    assert located.country_distance_km[0] == pytest.approx(
        located.country_distance_km[1]
    )


def test_edges_drop_antimeridian_cut():
    part = shapely.box(179.0, 0.0, 180.0, 20.0)
    edges = edges_off_antimeridian(np.array([part]))[0]
    # The nearest edge left is the western one, not the cut 0.05 degrees east.
    assert shapely.distance(shapely.Point(179.95, 10.0), edges) == pytest.approx(0.95)


def test_edge_distance_goes_round_180():
    part = shapely.box(-180.0, 0.0, -179.9, 20.0)
    edges = edges_off_antimeridian(np.array([part]))[0]
    km = distance_across_antimeridian_km(10.0, 179.95, edges)
    expected = haversine_km(10.0, 179.95, 10.0, -179.9).item()
    assert km == pytest.approx(expected, rel=1e-6)


def test_edge_distance_of_empty_is_infinite():
    assert distance_across_antimeridian_km(0.0, 0.0, shapely.LineString()) == float(
        "inf"
    )
