"""Layer-pack indicator values per asset or holding, and the indicator catalogue.

A value exists only where a pack has data for it: an absent pack, cell or
country gives no value (JSON null), never a zero or an estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nature_risk.biodiversity.inputs import finite_or_none
from nature_risk.biodiversity.packs import KNOWN_INDICATORS, LayerPack

DISTANCE_INDICATORS = ("protected_area_distance_km", "kba_distance_km")


@dataclass(slots=True)
class IndicatorValues:
    """Values of every pack indicator for a list of items (assets or holdings)."""

    count: int
    # indicator id -> (pack, units, at-point values, within-radius values or None)
    columns: dict[str, tuple[LayerPack, str, np.ndarray, np.ndarray | None]] = field(
        default_factory=dict
    )
    # indicator id -> grid cells with data within the radius, per item
    cells: dict[str, np.ndarray] = field(default_factory=dict)

    def for_item(self, i: int) -> dict[str, dict[str, object]]:
        """Return one item's indicator values as JSON-ready values.

        Units and packs are listed once, in ``indicator_catalogue``.
        """
        out = {}
        for indicator_id, (_pack, _units, at_point, within) in self.columns.items():
            entry: dict[str, object] = {"value": finite_or_none(at_point[i])}
            if within is not None:
                entry["within_radius"] = finite_or_none(within[i])
                entry["cells_within_radius"] = int(self.cells[indicator_id][i])
            out[indicator_id] = entry
        return out

    def score(self, indicator_id: str) -> tuple[np.ndarray, str] | None:
        """Return an indicator's per-item score: the radius value where there is one."""
        column = self.columns.get(indicator_id)
        if column is None:
            return None
        _, _, at_point, within = column
        if within is None:
            return at_point, "value"
        return np.where(np.isnan(within), at_point, within), "within_radius"

    def near_protected_or_kba(self, radius_km: float) -> np.ndarray:
        """Return where a protected-area or KBA distance is within ``radius_km``."""
        near = np.zeros(self.count, dtype=bool)
        for indicator_id in DISTANCE_INDICATORS:
            column = self.columns.get(indicator_id)
            if column is None:
                continue
            _, _, at_point, within = column
            nearest = at_point if within is None else np.fmin(at_point, within)
            with np.errstate(invalid="ignore"):
                near |= nearest <= radius_km
        return near


def point_indicators(
    packs: Sequence[LayerPack],
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    countries: Sequence[str | None],
    commodities: Sequence[str | None],
    *,
    radius_km: float,
) -> IndicatorValues:
    """Look up every pack; grid packs at the point and within ``radius_km``."""
    values = country_indicators(
        [pack for pack in packs if pack.kind != "grid"], countries, commodities
    )
    for pack in packs:
        if pack.kind != "grid":
            continue
        at_point = pack.at_points(latitudes, longitudes)
        within, cells = pack.within_radius(latitudes, longitudes, radius_km)
        for column, indicator in enumerate(pack.indicators):
            values.cells[indicator.id] = cells[:, column]
            values.columns[indicator.id] = (
                pack,
                indicator.units,
                at_point[:, column],
                within[:, column],
            )
    return values


def country_indicators(
    packs: Sequence[LayerPack],
    countries: Sequence[str | None],
    commodities: Sequence[str | None],
) -> IndicatorValues:
    """Look up country and country-commodity packs; grid packs are skipped."""
    count = len(countries)
    values = IndicatorValues(count)
    for pack in packs:
        if pack.kind == "grid":
            continue
        table = np.full((count, len(pack.indicators)), np.nan)
        for i, iso3 in enumerate(countries):
            if iso3 is None:
                continue
            found = pack.by_country(iso3, commodities[i])
            if found is not None:
                table[i] = found
        for column, indicator in enumerate(pack.indicators):
            values.columns[indicator.id] = (
                pack,
                indicator.units,
                table[:, column],
                None,
            )
    return values


def indicator_catalogue(packs: Sequence[LayerPack], module: str) -> dict[str, object]:
    """List the indicators present, missing (no pack) and not applicable to ``module``.

    Grid packs need a location, so they do not apply to agricultural holdings,
    which are given by country.
    """
    available = []
    not_applicable = []
    provided = set()
    for pack in packs:
        for indicator in pack.indicators:
            provided.add(indicator.id)
            entry = {
                "id": indicator.id,
                "label": indicator.label,
                "units": indicator.units,
                "pack": pack.name,
                "pack_version": pack.version,
                "kind": pack.kind,
            }
            if module == "agriculture" and pack.kind == "grid":
                not_applicable.append(entry)
            else:
                if pack.kind == "grid":
                    entry["radius_aggregation"] = indicator.radius_aggregation
                available.append(entry)
    missing = [
        {"id": indicator_id, "label": label, "reason": "no layer pack provides it"}
        for indicator_id, label in KNOWN_INDICATORS.items()
        if indicator_id not in provided
    ]
    return {
        "available": available,
        "missing": missing,
        "not_applicable": not_applicable,
    }
