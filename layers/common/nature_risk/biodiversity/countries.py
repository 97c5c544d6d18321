"""Countries: ISO 3166-1 codes, names for forgiving matching, and the polygons.

Codes and names come from the datasets/country-codes crosswalk (ODC-PDDL); the
polygons and more names from Natural Earth 1:110m Admin-0 countries v4.0.0
(public domain). Natural Earth writes ``-99`` for the ISO codes of France,
Norway, Kosovo, Northern Cyprus and Somaliland. This module then falls back to
``ISO_A3_EH`` and, failing that, to Natural Earth's own ``ADM0_A3`` code.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely import STRtree

from nature_risk.biodiversity.names import normalise_name

CODES_FILE = Path("country-codes") / "country-codes.csv"
POLYGONS_FILE = (
    Path("natural-earth-110m-admin0-countries") / "ne_110m_admin_0_countries.json"
)

# Common names that neither source spells this way, mapped to ISO 3166-1 alpha-3.
EXTRA_COUNTRY_NAMES = {
    "usa": "USA",
    "united states": "USA",
    "america": "USA",
    "uk": "GBR",
    "great britain": "GBR",
    "britain": "GBR",
    "holland": "NLD",
    "burma": "MMR",
    "drc": "COD",
    "dr congo": "COD",
    "democratic republic of congo": "COD",
    "republic of congo": "COG",
    "congo brazzaville": "COG",
    "congo kinshasa": "COD",
    "czech republic": "CZE",
    "turkey": "TUR",
    "swaziland": "SWZ",
    "macedonia": "MKD",
    "ivory coast": "CIV",
    "east timor": "TLS",
    "cape verde": "CPV",
    "vatican": "VAT",
    "kosovo": "KOS",
    "us": "USA",
    "uae": "ARE",
    # Kosovo has no ISO 3166-1 code. XK and XKX are the codes in common use,
    # and Natural Earth's KOS is the one the polygons carry.
    "xk": "KOS",
    "xkx": "KOS",
}


@dataclass(frozen=True, slots=True)
class Country:
    """One country or territory: ISO codes and a display name."""

    iso3: str
    iso2: str | None
    name: str


class CountryIndex:
    """ISO codes, names and Natural Earth polygons, with an STRtree over them."""

    def __init__(
        self,
        countries: dict[str, Country],
        names: dict[str, str],
        polygons: np.ndarray,
        polygon_iso3: list[str],
    ) -> None:
        self.countries = countries
        self._names = names
        self._iso2 = {c.iso2: c.iso3 for c in countries.values() if c.iso2}
        self.polygons = polygons
        self.polygon_iso3 = polygon_iso3
        self.polygon_of = {iso3: i for i, iso3 in enumerate(polygon_iso3)}
        # Prepared once, so every point query reuses the polygons' indexes.
        shapely.prepare(polygons)
        self.tree = STRtree(polygons)

    @classmethod
    def from_folder(cls, folder: Path) -> CountryIndex:
        """Read the crosswalk and the polygons under ``folder``."""
        countries: dict[str, Country] = {}
        names: dict[str, str] = {}
        with (folder / CODES_FILE).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                iso3 = row["ISO3166-1-Alpha-3"].strip()
                if len(iso3) != 3:
                    continue
                iso2 = row["ISO3166-1-Alpha-2"].strip() or None
                name = row["official_name_en"].strip() or row["CLDR display name"]
                countries[iso3] = Country(iso3, iso2, name.strip())
                for column in (
                    "official_name_en",
                    "CLDR display name",
                    "UNTERM English Short",
                    "UNTERM English Formal",
                ):
                    _add_name(names, row.get(column) or "", iso3)

        with (folder / POLYGONS_FILE).open(encoding="utf-8") as handle:
            features = json.load(handle)["features"]
        polygons = []
        polygon_iso3 = []
        for feature in features:
            properties = feature["properties"]
            iso3 = _natural_earth_iso3(properties)
            polygons.append(shapely.geometry.shape(feature["geometry"]))
            polygon_iso3.append(iso3)
            if iso3 not in countries:
                countries[iso3] = Country(iso3, None, properties["ADMIN"])
            else:
                # Natural Earth's short names read better than ISO's formal ones.
                countries[iso3] = Country(
                    iso3, countries[iso3].iso2, properties["ADMIN"]
                )
            for key in (
                "ADMIN",
                "NAME",
                "NAME_LONG",
                "FORMAL_EN",
                "BRK_NAME",
                "NAME_SORT",
            ):
                _add_name(names, properties.get(key) or "", iso3)
        for alias, iso3 in EXTRA_COUNTRY_NAMES.items():
            names.setdefault(alias, iso3)
        return cls(countries, names, np.array(polygons), polygon_iso3)

    def add_names(self, pairs: dict[str, str]) -> None:
        """Add more name -> ISO alpha-3 pairs (e.g. the yield table's entities)."""
        for name, iso3 in pairs.items():
            if iso3 in self.countries:
                _add_name(self._names, name, iso3)

    def resolve(self, text: str) -> str | None:
        """Return the ISO alpha-3 code for an ISO 2, ISO 3 code or a name, or None."""
        stripped = text.strip()
        upper = stripped.upper()
        if len(upper) == 2 and upper in self._iso2:
            return self._iso2[upper]
        if len(upper) == 3 and upper in self.countries:
            return upper
        return self._names.get(normalise_name(stripped))

    def name(self, iso3: str) -> str:
        return self.countries[iso3].name if iso3 in self.countries else iso3


def _add_name(names: dict[str, str], text: str, iso3: str) -> None:
    key = normalise_name(text.replace("(the)", ""))
    if key:
        names.setdefault(key, iso3)


def _natural_earth_iso3(properties: dict[str, object]) -> str:
    for key in ("ISO_A3", "ISO_A3_EH", "ADM0_A3"):
        value = str(properties.get(key) or "")
        if len(value) == 3 and value != "-99":
            return value
    raise ValueError("a Natural Earth feature has no usable country code")
