"""RESOLVE Ecoregions 2017 (simplified polygons), read with pyshp into an STRtree.

Each record carries an ecoregion, its biome and realm and its Nature Needs
Half (NNH) category from Dinerstein et al. (2017). The file has 847 records:
846 ecoregions and one "Rock and Ice" record with NNH 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapefile
import shapely
from shapely import STRtree

from nature_risk.biodiversity.geometry import polygons_from_shapes

SHAPEFILE = Path("resolve-ecoregions-2017-simplified") / "Ecoregions2017"
# The .dbf columns the product reads.
FIELDS = ("ECO_NAME", "BIOME_NUM", "BIOME_NAME", "REALM", "NNH", "ECO_ID")

# The NNH codes of Dinerstein et al. (2017), from most to least protected.
NNH_CATEGORIES = {
    1: "Half Protected",
    2: "Nature Could Reach Half Protected",
    3: "Nature Could Recover",
    4: "Nature Imperiled",
    0: "Rock and Ice",
}
NATURE_IMPERILED = 4
MANGROVES_BIOME = 14
ROCK_AND_ICE = "Rock and Ice"


@dataclass(frozen=True, slots=True)
class Ecoregion:
    """One ecoregion record."""

    eco_id: int
    name: str
    biome_number: int
    biome: str
    realm: str
    nnh: int

    @property
    def nnh_category(self) -> str:
        return NNH_CATEGORIES.get(self.nnh, "Unknown")

    def to_dict(self) -> dict[str, object]:
        return {
            "eco_id": self.eco_id,
            "name": self.name,
            "biome": self.biome,
            "biome_number": self.biome_number,
            "realm": self.realm,
            "nnh": self.nnh,
            "nnh_category": self.nnh_category,
        }


class EcoregionIndex:
    """Ecoregion records, their polygons and an STRtree over the polygons."""

    def __init__(self, records: list[Ecoregion], polygons: np.ndarray) -> None:
        self.records = records
        self.polygons = polygons
        self.nnh = np.array([record.nnh for record in records])
        # Prepared once, so every point query reuses the polygons' indexes.
        shapely.prepare(polygons)
        self.tree = STRtree(polygons)
        self._valid: dict[int, shapely.Geometry] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> EcoregionIndex:
        """Read the shapefile under ``folder``; its .dbf has no .cpg and is Latin-1."""
        with shapefile.Reader(str(folder / SHAPEFILE), encoding="latin-1") as reader:
            if reader.shapeType != shapefile.POLYGON:
                raise ValueError("the ecoregion shapefile does not hold polygons")
            shapes = reader.shapes()
            rows = reader.records(fields=list(FIELDS))
        records = [_record(row.as_dict()) for row in rows]
        return cls(records, polygons_from_shapes(shapes))

    def valid_polygons(self, indices: np.ndarray) -> np.ndarray:
        """Return the polygons at ``indices``, repaired with make_valid where invalid.

        Overlay operations need valid input; the repair runs once per polygon.
        """
        out = []
        for index in indices.tolist():
            geometry = self._valid.get(index)
            if geometry is None:
                geometry = self.polygons[index]
                if not shapely.is_valid(geometry):
                    geometry = shapely.make_valid(geometry)
                self._valid[index] = geometry
            out.append(geometry)
        return np.array(out, dtype=object)


def _record(row: dict[str, object]) -> Ecoregion:
    nnh = int(str(row["NNH"]).strip() or 0)
    biome = str(row["BIOME_NAME"]).strip()
    realm = str(row["REALM"]).strip()
    if nnh == 0:
        biome = ROCK_AND_ICE
        realm = ROCK_AND_ICE
    return Ecoregion(
        eco_id=int(str(row["ECO_ID"]).strip() or 0),
        name=str(row["ECO_NAME"]).strip(),
        biome_number=int(float(row["BIOME_NUM"])),
        biome=biome,
        realm=realm,
        nnh=nnh,
    )
