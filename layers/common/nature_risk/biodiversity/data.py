"""The open biodiversity data, loaded once: countries, ecoregions and crop yields.

Start-up reads the files and builds the spatial indexes, nothing more. Country
ecoregion profiles (polygon overlays) are computed on first use per country
and kept in memory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from nature_risk.biodiversity.countries import CountryIndex
from nature_risk.biodiversity.crops import CropYields
from nature_risk.biodiversity.ecoregions import NATURE_IMPERILED, EcoregionIndex
from nature_risk.biodiversity.geometry import (
    KM_PER_DEGREE_LATITUDE,
    distance_to_geometries_km,
    equal_area_km2,
)

# Each dataset's source, licence and credit line, as every result carries them.
DATASETS = (
    {
        "id": "resolve_ecoregions_2017",
        "title": "Ecoregions 2017",
        "publisher": "RESOLVE",
        "licence": "CC BY 4.0",
        "attribution": (
            "Ecoregions 2017 © RESOLVE (Dinerstein et al. 2017, BioScience 67(6), "
            "doi:10.1093/biosci/bix014), CC BY 4.0; geometry simplified by a third "
            "party (marquetlab/GCM_compareR)"
        ),
        "simplified": True,
        "note": (
            "Simplified copy (176,362 vertices instead of the official release's "
            "full detail), so points near coasts and ecoregion boundaries may be "
            "assigned to a neighbouring ecoregion or to none."
        ),
    },
    {
        "id": "natural_earth_admin0_110m",
        "title": "Admin 0 - Countries, 1:110m, version 4.0.0",
        "publisher": "Natural Earth",
        "licence": "Public domain",
        "attribution": "Made with Natural Earth",
        "simplified": True,
        "note": (
            "Small-scale (1:110m) boundaries: coastlines and borders are coarse and "
            "many small island states are absent."
        ),
    },
    {
        "id": "country_codes",
        "title": "Country codes (ISO 3166-1, M49)",
        "publisher": "datasets/country-codes",
        "licence": "ODC-PDDL",
        "attribution": "Country codes: datasets/country-codes (ODC-PDDL)",
        "simplified": False,
        "note": None,
    },
    {
        "id": "faostat_crop_yields",
        "title": "Key crop yields, 1961-2018",
        "publisher": "FAO (FAOSTAT), processed by Our World in Data",
        "licence": "CC BY 4.0",
        "attribution": (
            "Crop yields: FAO (FAOSTAT), processed by Our World in Data "
            "(ourworldindata.org/crop-yields), CC BY 4.0; distributed via "
            "TidyTuesday 2020-09-01"
        ),
        "simplified": False,
        "note": "National averages; 11 crops; the latest year is 2018.",
    },
)


@dataclass(frozen=True, slots=True)
class Locations:
    """Country and ecoregion of each point; -1 where none was found.

    ``*_fallback`` marks an index taken from the nearest polygon within the
    fallback distance, because the point lies in none. ``*_distance_km`` is
    the distance to that polygon, and 0 where the point lies inside one.
    """

    country: np.ndarray
    country_fallback: np.ndarray
    country_distance_km: np.ndarray
    ecoregion: np.ndarray
    ecoregion_fallback: np.ndarray
    ecoregion_distance_km: np.ndarray


@dataclass(slots=True)
class CountryProfile:
    """Share of a country's mapped land in each NNH category and biome."""

    iso3: str
    area_km2: float
    mapped_km2: float
    nnh_shares: dict[int, float]
    biome_shares: dict[str, float]
    ecoregions: list[tuple[int, float]] = field(default_factory=list)

    @property
    def imperiled_share(self) -> float:
        return self.nnh_shares.get(NATURE_IMPERILED, 0.0)


class BiodiversityData:
    """Countries, ecoregions and crop yields read from one data folder."""

    def __init__(
        self,
        folder: Path,
        countries: CountryIndex,
        ecoregions: EcoregionIndex,
        yields: CropYields,
    ) -> None:
        self.folder = folder
        self.countries = countries
        self.ecoregions = ecoregions
        self.yields = yields
        self._profiles: dict[str, CountryProfile | None] = {}
        countries.add_names(
            {name: code for name, code in yields.entities.items() if len(code) == 3}
        )

    @classmethod
    def from_folder(cls, folder: Path) -> BiodiversityData:
        """Load every dataset under ``folder`` and build the spatial indexes."""
        return cls(
            folder,
            CountryIndex.from_folder(folder),
            EcoregionIndex.from_folder(folder),
            CropYields.from_folder(folder),
        )

    @staticmethod
    def datasets() -> list[dict[str, object]]:
        return [dict(dataset) for dataset in DATASETS]

    def locate(
        self, latitudes: np.ndarray, longitudes: np.ndarray, fallback_km: float
    ) -> Locations:
        """Find the country and ecoregion of each point, with a nearest fallback."""
        points = shapely.points(longitudes, latitudes)
        country, country_fallback, country_km = _lookup(
            self.countries.tree, points, latitudes, longitudes, fallback_km
        )
        ecoregion, ecoregion_fallback, ecoregion_km = _lookup(
            self.ecoregions.tree, points, latitudes, longitudes, fallback_km
        )
        return Locations(
            country,
            country_fallback,
            country_km,
            ecoregion,
            ecoregion_fallback,
            ecoregion_km,
        )

    def countries_at(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """Return the country polygon index containing each point, or -1."""
        points = shapely.points(longitudes, latitudes)
        return _first_hits(
            _intersecting(self.countries.tree, points, longitudes, latitudes),
            len(points),
        )

    def country_profile(self, iso3: str) -> CountryProfile | None:
        """Return the country's ecoregion profile, computing it on first use."""
        if iso3 not in self._profiles:
            self._profiles[iso3] = self._compute_profile(iso3)
        return self._profiles[iso3]

    def _compute_profile(self, iso3: str) -> CountryProfile | None:
        index = self.countries.polygon_of.get(iso3)
        if index is None:
            return None
        country = self.countries.polygons[index]
        if not shapely.is_valid(country):
            country = shapely.make_valid(country)

        candidates = self.ecoregions.tree.query(country, predicate="intersects")
        pieces = shapely.intersection(
            self.ecoregions.valid_polygons(candidates), country
        )
        areas = equal_area_km2(pieces)
        mapped = float(areas.sum())

        nnh_area: dict[int, float] = defaultdict(float)
        biome_area: dict[str, float] = defaultdict(float)
        ecoregion_area: dict[int, float] = defaultdict(float)
        for candidate, area in zip(candidates.tolist(), areas.tolist(), strict=True):
            if area <= 0:
                continue
            record = self.ecoregions.records[candidate]
            nnh_area[record.nnh] += area
            biome_area[record.biome] += area
            ecoregion_area[candidate] += area

        share = (lambda area: area / mapped) if mapped > 0 else (lambda area: 0.0)
        return CountryProfile(
            iso3=iso3,
            area_km2=float(equal_area_km2(np.array([country]))[0]),
            mapped_km2=mapped,
            nnh_shares={nnh: share(area) for nnh, area in sorted(nnh_area.items())},
            biome_shares={
                biome: share(area)
                for biome, area in sorted(biome_area.items(), key=lambda kv: -kv[1])
            },
            ecoregions=[
                (eco, share(area))
                for eco, area in sorted(ecoregion_area.items(), key=lambda kv: -kv[1])
            ],
        )


def _intersecting(
    tree: shapely.STRtree, points: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Return (point, polygon) index pairs where the polygon intersects the point.

    The tree's bounding-box query finds candidates, and ``intersects_xy`` on
    the polygons, which stay prepared (``shapely.prepare``) for the life of the
    process, tests them. Measured in ``bench/bench_biodiversity.py``, this is
    about twice as fast as ``query(points, predicate="intersects")``, which
    does not reuse prepared polygons between calls.
    """
    pairs = tree.query(points)
    polygons = tree.geometries[pairs[1]]
    inside = shapely.intersects_xy(polygons, x[pairs[0]], y[pairs[0]])
    return pairs[:, inside]


def _first_hits(pairs: np.ndarray, count: int) -> np.ndarray:
    """Return, per input, the lowest tree index among its hits, or -1."""
    found = np.full(count, -1, dtype=np.intp)
    if pairs.shape[1] == 0:
        return found
    order = np.lexsort((pairs[1], pairs[0]))
    inputs, first = np.unique(pairs[0][order], return_index=True)
    found[inputs] = pairs[1][order][first]
    return found


def _lookup(
    tree: shapely.STRtree,
    points: np.ndarray,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    fallback_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point-in-polygon query, then the nearest polygon within ``fallback_km``."""
    count = len(points)
    found = _first_hits(_intersecting(tree, points, longitudes, latitudes), count)
    fallback = np.zeros(count, dtype=bool)
    distance = np.zeros(count)
    missing = np.flatnonzero(found < 0)
    if len(missing) == 0 or fallback_km <= 0:
        return found, fallback, distance

    # A degree of longitude is shortest at the highest latitude in the batch, so
    # the search radius in degrees is sized there. The km check below is exact.
    max_latitude = min(float(np.abs(latitudes[missing]).max()), 85.0)
    radius_degrees = fallback_km / (
        KM_PER_DEGREE_LATITUDE * np.cos(np.radians(max_latitude))
    )
    # A "dwithin" query uses GEOS prepared geometries and so avoids the exact
    # distance to every polygon whose bounding box is near, which made
    # query_nearest several times slower here.
    owners, queried = _with_wrapped_copies(
        points[missing], latitudes[missing], longitudes[missing], radius_degrees
    )
    pairs = tree.query(queried, predicate="dwithin", distance=radius_degrees)
    if pairs.shape[1] == 0:
        return found, fallback, distance
    km = distance_to_geometries_km(queried[pairs[0]], tree.geometries[pairs[1]])
    pair_points = owners[pairs[0]]
    # The nearest polygon in km, ties going to the lower polygon index.
    order = np.lexsort((pairs[1], km, pair_points))
    inputs, first = np.unique(pair_points[order], return_index=True)
    nearest = order[first]
    near = km[nearest] <= fallback_km
    subset = missing[inputs[near]]
    found[subset] = pairs[1][nearest[near]]
    fallback[subset] = True
    distance[subset] = km[nearest[near]]
    return found, fallback, distance


def _with_wrapped_copies(
    points: np.ndarray,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    radius_degrees: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Add a copy shifted by 360 degrees of each point near the antimeridian.

    Polygons stop at ±180 degrees, so a point at -179.999 is far in degree space
    from land at 179.99. Its copy at 180.001 is near it. Returns each query
    point's position in ``points`` and the query points. Great-circle
    distances are the same for a point and its copy.
    """
    owners = [np.arange(len(points))]
    queried = [points]
    for edge, shift in (
        (longitudes > 180.0 - radius_degrees, -360.0),
        (longitudes < -180.0 + radius_degrees, 360.0),
    ):
        near = np.flatnonzero(edge)
        if len(near):
            owners.append(near)
            queried.append(shapely.points(longitudes[near] + shift, latitudes[near]))
    return np.concatenate(owners), np.concatenate(queried)
