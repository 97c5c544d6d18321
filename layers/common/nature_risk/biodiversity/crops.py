"""Crop commodities: names, ISIC Rev.4 classes and national yields.

Yields are FAOSTAT national averages in tonnes per hectare for 11 crops,
1961-2018, as published by Our World in Data. The commodity list below also
names crops the yield table does not cover, so that their ISIC class and ENCORE
activity still resolve. Those holdings need an area to get a land footprint.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from nature_risk.biodiversity.names import normalise_name

YIELDS_FILE = Path("owid-key-crop-yields") / "key_crop_yields.csv"
WORLD_CODE = "OWID_WRL"
_YIELD_COLUMN = re.compile(r"^(?P<crop>.+) \(tonnes per hectare\)$")


@dataclass(frozen=True, slots=True)
class Commodity:
    """An agricultural commodity and the ISIC Rev.4 class that grows it."""

    id: str
    label: str
    isic_class: str
    isic_label: str
    yield_column: str | None
    aliases: tuple[str, ...] = ()


_CEREALS = "Growing of cereals (except rice), leguminous crops and oil seeds"
_ROOTS = "Growing of vegetables and melons, roots and tubers"
_BEVERAGE = "Growing of beverage crops"

# Commodity -> ISIC Rev.4 class. The class is the one the UN ISIC Rev.4
# structure lists the crop under (e.g. soybeans are an oil seed, 0111; cassava
# a root crop, 0113; cocoa a beverage crop, 0127).
COMMODITIES = (
    Commodity("wheat", "Wheat", "0111", _CEREALS, "Wheat"),
    Commodity("maize", "Maize", "0111", _CEREALS, "Maize", ("corn",)),
    Commodity("barley", "Barley", "0111", _CEREALS, "Barley"),
    Commodity(
        "soybeans",
        "Soybeans",
        "0111",
        _CEREALS,
        "Soybeans",
        ("soy", "soya", "soybean", "soya beans", "soya bean"),
    ),
    Commodity("beans", "Beans, dry", "0111", _CEREALS, "Beans", ("bean", "dry beans")),
    Commodity("peas", "Peas, dry", "0111", _CEREALS, "Peas", ("pea", "dry peas")),
    Commodity("rice", "Rice, paddy", "0112", "Growing of rice", "Rice", ("paddy",)),
    Commodity("potatoes", "Potatoes", "0113", _ROOTS, "Potatoes", ("potato",)),
    Commodity("cassava", "Cassava", "0113", _ROOTS, "Cassava", ("manioc",)),
    Commodity(
        "bananas",
        "Bananas",
        "0122",
        "Growing of tropical and subtropical fruits",
        "Bananas",
        ("banana",),
    ),
    Commodity(
        "cocoa_beans",
        "Cocoa beans",
        "0127",
        _BEVERAGE,
        "Cocoa beans",
        ("cocoa", "cacao", "cocoa bean"),
    ),
    Commodity("coffee", "Coffee", "0127", _BEVERAGE, None, ("coffee beans",)),
    Commodity("tea", "Tea", "0127", _BEVERAGE, None),
    Commodity(
        "oil_palm",
        "Oil palm fruit",
        "0126",
        "Growing of oleaginous fruits",
        None,
        ("palm oil", "oil palm fruit", "palm fruit"),
    ),
    Commodity(
        "sugar_cane",
        "Sugar cane",
        "0114",
        "Growing of sugar cane",
        None,
        ("sugarcane",),
    ),
    Commodity("sugar_beet", "Sugar beet", "0113", _ROOTS, None, ("sugarbeet",)),
    Commodity(
        "cotton", "Cotton", "0116", "Growing of fibre crops", None, ("seed cotton",)
    ),
    Commodity("rapeseed", "Rapeseed", "0111", _CEREALS, None, ("canola",)),
    Commodity(
        "sunflower", "Sunflower seed", "0111", _CEREALS, None, ("sunflower seed",)
    ),
    Commodity("sorghum", "Sorghum", "0111", _CEREALS, None),
    Commodity("oats", "Oats", "0111", _CEREALS, None),
)


@dataclass(frozen=True, slots=True)
class Yield:
    """A national average yield: where and when it was measured."""

    tonnes_per_hectare: float
    year: int
    area: str  # ISO alpha-3 code, or OWID_WRL for the world average


class CropYields:
    """Latest yield per crop and country, plus the world average as a fallback."""

    def __init__(self, latest: dict[str, dict[str, Yield]], entities: dict[str, str]):
        self.latest = latest
        self.entities = entities
        self.crops = sorted(latest)
        self._commodities = {c.id: c for c in COMMODITIES}
        self._names: dict[str, str] = {}
        for commodity in COMMODITIES:
            for text in (commodity.id, commodity.label, *commodity.aliases):
                self._names.setdefault(
                    normalise_name(text.replace("_", " ")), commodity.id
                )

    @classmethod
    def from_folder(cls, folder: Path) -> CropYields:
        """Read the yield table; keep each crop's latest non-empty year per code."""
        latest: dict[str, dict[str, Yield]] = {}
        entities: dict[str, str] = {}
        with (folder / YIELDS_FILE).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = {}
            for position, title in enumerate(header):
                match = _YIELD_COLUMN.match(title)
                if match:
                    columns[position] = match["crop"]
                    latest[match["crop"]] = {}
            code_at = header.index("Code")
            year_at = header.index("Year")
            entity_at = header.index("Entity")
            # Rows run by entity, then by year ascending, so the last
            # non-empty cell seen per crop and code is the latest year.
            cells: dict[str, dict[str, tuple[str, str]]] = {c: {} for c in latest}
            for row in reader:
                code = row[code_at]
                if not code:
                    continue  # FAO regions and groupings have no code
                entities[row[entity_at]] = code
                for position, crop in columns.items():
                    if row[position]:
                        cells[crop][code] = (row[year_at], row[position])
        for crop, by_code in cells.items():
            for code, (year, cell) in by_code.items():
                value = float(cell)
                if value > 0 and math.isfinite(value):
                    latest[crop][code] = Yield(value, int(year), code)
        return cls(latest, entities)

    def resolve_commodity(self, text: str) -> Commodity | None:
        """Return the commodity for a name or alias, forgiving case and plurals."""
        key = normalise_name(text)
        commodity_id = self._names.get(key)
        if commodity_id is None and key.endswith("s"):
            commodity_id = self._names.get(key[:-1])
        if commodity_id is None:
            commodity_id = self._names.get(key + "s")
        return self._commodities.get(commodity_id) if commodity_id else None

    def yield_for(self, commodity: Commodity, iso3: str) -> tuple[Yield | None, str]:
        """Return the yield to use and its basis: "country", "world" or "none"."""
        if commodity.yield_column is None:
            return None, "none"
        table = self.latest.get(commodity.yield_column, {})
        if iso3 in table:
            return table[iso3], "country"
        if WORLD_CODE in table:
            return table[WORLD_CODE], "world"
        return None, "none"

    def covered_commodities(self) -> list[str]:
        """Return the ids of commodities the yield table has values for."""
        return [c.id for c in COMMODITIES if c.yield_column in self.latest]


def all_commodities() -> tuple[Commodity, ...]:
    return COMMODITIES
