"""Mining dashboard: where a portfolio's mines are and what that means for biodiversity.

``parse_mining_assets`` turns an upload into ``MiningAssets`` and raises one
``InputError`` with every row problem. ``build_mining_dashboard`` locates the
assets in countries and ecoregions, adds layer-pack indicators, tiers each
asset and summarises the portfolio. Neither logs anything the user sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely

from nature_risk.biodiversity.data import BiodiversityData, Locations
from nature_risk.biodiversity.ecoregions import NATURE_IMPERILED, NNH_CATEGORIES
from nature_risk.biodiversity.geometry import (
    distance_across_antimeridian_km,
    edges_off_antimeridian,
)
from nature_risk.biodiversity.indicators import (
    IndicatorValues,
    indicator_catalogue,
    point_indicators,
)
from nature_risk.biodiversity.inputs import (
    RowLocator,
    drop_whitespace_rows,
    finite_or_none,
    number_column,
    raise_problems,
    read_amounts,
    text_column,
)
from nature_risk.biodiversity.packs import LayerPack
from nature_risk.biodiversity.results import check_row_count, listed_problems
from nature_risk.biodiversity.tiers import (
    MINING_GUIDANCE,
    TIERS,
    TierDecision,
    mining_tier,
)
from nature_risk.config import InputLimits
from nature_risk.config.biodiversity import BiodiversityLimits
from nature_risk.errors import Problem
from nature_risk.option_flags import read_options
from nature_risk.portfolio_input import CURRENCY_ALIASES
from nature_risk.tabular import Table, read_table, require_records

RECORDS_FIELD = "assets"
NAME_ALIASES = ("name", "asset_name", "asset", "mine_name", "mine", "site_name", "site")
COMPANY_ALIASES = ("company", "company_name", "owner", "operator", "issuer")
LATITUDE_ALIASES = ("latitude", "lat")
LONGITUDE_ALIASES = ("longitude", "lon", "lng", "long")
COMMODITY_ALIASES = ("commodity", "primary_commodity", "commodities", "mineral")
STATUS_ALIASES = ("status", "asset_status", "operating_status")
AMOUNT_ALIASES = ("amount", "exposure", "exposure_amount", "value")
COUNTRY_ALIASES = ("country", "country_code", "iso3", "iso2", "iso")

STATUSES = ("operating", "development", "closed")
# Other words for the three statuses, as mine databases spell them.
STATUS_SYNONYMS = {
    "operating": "operating",
    "operational": "operating",
    "active": "operating",
    "producing": "operating",
    "production": "operating",
    "development": "development",
    "construction": "development",
    "under construction": "development",
    "exploration": "development",
    "feasibility": "development",
    "project": "development",
    "planned": "development",
    "closed": "closed",
    "inactive": "closed",
    "abandoned": "closed",
    "decommissioned": "closed",
    "care and maintenance": "closed",
}
NOT_CHECKED = (
    "the stated country is not among the 1:110m country polygons, "
    "so the point could not be checked against it"
)
KEPT_STATED = (
    "the stated country is kept: it is not among the 1:110m country polygons, "
    "and the point lies near the edge of another country's polygon"
)
# Two assets are duplicates when they have the same name and company and their
# coordinates agree to 5 decimal places (about 1 m).
DUPLICATE_DECIMALS = 5


@dataclass(slots=True)
class MiningAssets:
    """Validated mining assets, one entry per input row, as parallel columns.

    ``rows`` are spreadsheet row numbers (CSV) or list indices (JSON);
    ``amounts`` is NaN where no amount was given; ``country_texts`` are the
    countries as sent, resolved against the data when the dashboard is built.
    ``warnings`` are row problems that do not stop the dashboard (duplicates).
    ``currency`` is the amounts' ISO 4217 code, or None where none was given.
    """

    locator: RowLocator
    rows: np.ndarray
    names: list[str | None]
    companies: list[str | None]
    latitudes: np.ndarray
    longitudes: np.ndarray
    commodities: list[str | None]
    statuses: list[str | None]
    amounts: np.ndarray
    country_texts: list[str | None]
    warnings: list[Problem] = field(default_factory=list)
    currency: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def to_records(self) -> list[dict[str, object]]:
        """Return the assets as JSON objects, one per asset, for storage."""
        return [
            {
                "row": int(self.rows[i]),
                "name": self.names[i],
                "company": self.companies[i],
                "latitude": float(self.latitudes[i]),
                "longitude": float(self.longitudes[i]),
                "commodity": self.commodities[i],
                "status": self.statuses[i],
                "amount": finite_or_none(self.amounts[i]),
                "country": self.country_texts[i],
            }
            for i in range(len(self))
        ]

    @classmethod
    def from_records(
        cls,
        records: list[dict[str, object]],
        locator: RowLocator | None = None,
        currency: str | None = None,
    ) -> MiningAssets:
        """Rebuild assets stored with ``to_records`` (already validated)."""
        count = len(records)

        def floats(key: str) -> np.ndarray:
            values = (records[i].get(key) for i in range(count))
            return np.fromiter(
                (np.nan if v is None else float(v) for v in values), float, count
            )

        assets = cls(
            locator=locator or RowLocator(),
            rows=np.fromiter((int(r["row"]) for r in records), np.int64, count),
            names=[r.get("name") for r in records],
            companies=[r.get("company") for r in records],
            latitudes=floats("latitude"),
            longitudes=floats("longitude"),
            commodities=[r.get("commodity") for r in records],
            statuses=[r.get("status") for r in records],
            amounts=floats("amount"),
            country_texts=[r.get("country") for r in records],
            currency=currency,
        )
        _flag_duplicates(assets)
        return assets


def parse_mining_assets(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> MiningAssets:
    """Read and validate a mining upload (CSV, JSON ``{"assets": [...]}`` or multipart).

    Raises ``InputError`` listing every row problem. A problem is a missing,
    non-numeric or out-of-range coordinate, 0,0 (a missing value written as
    zero), an unknown status, an invalid amount or a currency that differs
    from the upload's (``read_amounts``). ``PayloadTooLarge`` comes
    from ``read_table`` or from more than ``MAX_MINING_ASSETS`` rows, and
    ``UnsupportedMediaType`` from ``read_table``.
    """
    table = read_table(
        body,
        content_type,
        limits,
        records_field=RECORDS_FIELD,
        numeric=(LATITUDE_ALIASES, LONGITUDE_ALIASES),
        amount_columns=(AMOUNT_ALIASES,),
        declared=declared,
        fields=(
            NAME_ALIASES,
            COMPANY_ALIASES,
            COMMODITY_ALIASES,
            STATUS_ALIASES,
            AMOUNT_ALIASES,
            COUNTRY_ALIASES,
            CURRENCY_ALIASES,
        ),
    )
    table = drop_whitespace_rows(table)
    require_records(table, "assets")
    check_row_count(
        len(table.rows),
        BiodiversityLimits.from_env().max_mining_assets,
        "MAX_MINING_ASSETS",
        "mining assets",
    )
    # No option changes this dashboard, but invalid options are rejected
    # as on every dashboard route.
    _, problems = read_options(table.form_fields.get("options"))
    count = len(table.rows)
    latitudes = number_column(
        table,
        LATITUDE_ALIASES,
        "latitude",
        low=-90,
        high=90,
        required=True,
        problems=problems,
    )
    longitudes = number_column(
        table,
        LONGITUDE_ALIASES,
        "longitude",
        low=-180,
        high=180,
        required=True,
        problems=problems,
    )
    if latitudes is not None and longitudes is not None:
        for index in np.flatnonzero((latitudes == 0) & (longitudes == 0)):
            problems.append(
                table.problem(
                    int(table.rows[index]),
                    "latitude",
                    "0,0 is not a site location: the coordinates are probably missing",
                )
            )

    statuses = _statuses(table, problems)
    amounts, currency = read_amounts(table, AMOUNT_ALIASES, problems)
    raise_problems(table.with_read_problems(problems), limits, "mining assets")
    assert latitudes is not None and longitudes is not None

    blank = [None] * count
    assets = MiningAssets(
        locator=RowLocator.of(table),
        rows=table.rows,
        names=text_column(table, NAME_ALIASES) or blank,
        companies=text_column(table, COMPANY_ALIASES) or blank,
        latitudes=latitudes,
        longitudes=longitudes,
        commodities=text_column(table, COMMODITY_ALIASES) or blank,
        statuses=statuses,
        amounts=amounts if amounts is not None else np.full(count, np.nan),
        country_texts=text_column(table, COUNTRY_ALIASES) or blank,
        currency=currency,
    )
    _flag_duplicates(assets)
    return assets


def _statuses(table: Table, problems: list[Problem]) -> list[str | None]:
    cells = text_column(table, STATUS_ALIASES)
    if cells is None:
        return [None] * len(table.rows)
    statuses: list[str | None] = []
    for index, cell in enumerate(cells):
        if cell is None:
            statuses.append(None)
            continue
        status = STATUS_SYNONYMS.get(
            " ".join(cell.casefold().replace("_", " ").split())
        )
        if status is None:
            problems.append(
                table.problem(
                    int(table.rows[index]),
                    "status",
                    "unknown status: use operating, development or closed",
                )
            )
        statuses.append(status)
    return statuses


def _resolve_countries(
    assets: MiningAssets, data: BiodiversityData, warnings: list[Problem]
) -> list[str | None]:
    """Resolve the stated countries to ISO alpha-3, warning on each unknown one."""
    stated: list[str | None] = []
    for index, cell in enumerate(assets.country_texts):
        iso3 = data.countries.resolve(cell) if cell is not None else None
        if cell is not None and iso3 is None:
            warnings.append(
                assets.locator.problem(
                    int(assets.rows[index]),
                    "country",
                    "country not recognised: use an ISO 3166 code or an English name",
                )
            )
        stated.append(iso3)
    return stated


def _flag_duplicates(assets: MiningAssets) -> None:
    seen: dict[tuple[object, ...], int] = {}
    lat = np.round(assets.latitudes, DUPLICATE_DECIMALS).tolist()
    lon = np.round(assets.longitudes, DUPLICATE_DECIMALS).tolist()
    for index in range(len(assets)):
        key = (
            lat[index],
            lon[index],
            (assets.names[index] or "").casefold(),
            (assets.companies[index] or "").casefold(),
        )
        first = seen.setdefault(key, index)
        if first != index:
            assets.warnings.append(
                assets.locator.problem(
                    int(assets.rows[index]),
                    "latitude",
                    f"duplicate of {assets.locator.label(int(assets.rows[first]))}: "
                    "same location, "
                    "name and company",
                )
            )


def build_mining_dashboard(
    assets: MiningAssets,
    data: BiodiversityData,
    packs: list[LayerPack],
    *,
    radius_km: float,
    coastal_fallback_km: float,
) -> dict[str, object]:
    """Build the mining dashboard: per-asset indicators, tiers and portfolio figures."""
    count = len(assets)
    lat = assets.latitudes
    lon = assets.longitudes
    located = data.locate(lat, lon, coastal_fallback_km)
    warnings = list(assets.warnings)
    stated = _resolve_countries(assets, data, warnings)
    country_iso3 = _asset_countries(
        assets, stated, data, located, coastal_fallback_km, warnings
    )
    _flag_swapped(assets, data, located, warnings)

    commodities = [(c or "").casefold() or None for c in assets.commodities]
    values = point_indicators(
        packs, lat, lon, country_iso3, commodities, radius_km=radius_km
    )
    star_core, star_summary = _star_concentration(values, count)
    near_sites = values.near_protected_or_kba(radius_km)

    tiers, per_asset, ecoregions = _asset_results(
        assets, data, located, stated, country_iso3, values, near_sites, star_core
    )

    return {
        "module": "mining",
        # As on the natural capital dashboard, no amounts means no currency.
        "currency": assets.currency if np.isfinite(assets.amounts).any() else None,
        "summary": _summary(assets, located, tiers),
        "portfolio": _portfolio(assets, located, data, tiers, star_summary),
        "assets": per_asset,
        "ecoregions": ecoregions,
        "indicators": indicator_catalogue(packs, "mining"),
        "guidance": MINING_GUIDANCE,
        **listed_problems("warnings", warnings),
        "method": {
            "radius_km": radius_km,
            "coastal_fallback_km": coastal_fallback_km,
            "distance": (
                "great-circle km between the point and the polygon point nearest in "
                "degree space; an upper bound on the true distance"
            ),
        },
        "datasets": data.datasets(),
        "layer_packs": [pack.describe() for pack in packs],
    }


def _asset_results(
    assets: MiningAssets,
    data: BiodiversityData,
    located: Locations,
    stated: list[str | None],
    country_iso3: list[str | None],
    values: IndicatorValues,
    near_sites: np.ndarray,
    star_core: np.ndarray,
) -> tuple[list[str], list[dict[str, object]], dict[str, dict[str, object]]]:
    """Tier every asset and build its JSON result.

    Tier decisions are cached per distinct input, because a portfolio repeats
    few combinations and 10,000 assets are common. Each ecoregion's details
    appear once, in the returned table keyed by ``eco_id`` as text, and an
    asset carries only the id and the name.
    """
    records = data.ecoregions.records
    eco_dicts: dict[str, dict[str, object]] = {}
    decisions: dict[tuple[object, ...], TierDecision] = {}
    eco_index = located.ecoregion.tolist()
    eco_fallback = located.ecoregion_fallback.tolist()
    eco_km = np.round(located.ecoregion_distance_km, 1).tolist()
    country_polygon = (located.country >= 0) & ~located.country_fallback
    polygon_iso3 = data.countries.polygon_iso3
    located_country = located.country.tolist()
    amounts = [finite_or_none(amount) for amount in assets.amounts.tolist()]
    rows = assets.rows.tolist()
    lat = assets.latitudes.tolist()
    lon = assets.longitudes.tolist()
    near = near_sites.tolist()
    core = star_core.tolist()
    tiers: list[str] = []
    results: list[dict[str, object]] = []
    for i in range(len(assets)):
        index = eco_index[i]
        eco = records[index] if index >= 0 else None
        key = (index, assets.statuses[i], near[i], core[i])
        decision = decisions.get(key)
        if decision is None:
            decision = decisions[key] = mining_tier(
                located=eco is not None,
                nnh=eco.nnh if eco else None,
                biome_number=eco.biome_number if eco else None,
                status=assets.statuses[i],
                near_protected_or_kba=near[i],
                in_star_core=core[i],
            )
        ecoregion = None
        if eco is not None:
            eco_key = str(eco.eco_id)
            if eco_key not in eco_dicts:
                eco_dicts[eco_key] = eco.to_dict()
            ecoregion = {
                "eco_id": eco.eco_id,
                "name": eco.name,
                "nearest_fallback": eco_fallback[i],
                "distance_km": eco_km[i],
            }
        iso3 = country_iso3[i]
        country = None
        if iso3:
            if country_polygon[i] and iso3 == polygon_iso3[located_country[i]]:
                source = "polygon"
            elif stated[i] is not None:
                source = "stated"
            else:
                source = "nearest_polygon"
            country = {
                "iso3": iso3,
                "name": data.countries.name(iso3),
                "source": source,
            }
        tiers.append(decision.tier)
        results.append(
            {
                "row": rows[i],
                "name": assets.names[i],
                "company": assets.companies[i],
                "commodity": assets.commodities[i],
                "status": assets.statuses[i],
                "amount": amounts[i],
                "latitude": lat[i],
                "longitude": lon[i],
                "country": country,
                "ecoregion": ecoregion,
                "indicators": values.for_item(i),
                "tier": decision.tier,
                "tier_reasons": decision.reasons,
            }
        )
    return tiers, results, eco_dicts


def _asset_countries(
    assets: MiningAssets,
    stated_countries: list[str | None],
    data: BiodiversityData,
    located: Locations,
    edge_km: float,
    warnings: list[Problem],
) -> list[str | None]:
    """Pick each asset's country (polygon, stated, nearest); check stated ones.

    A stated country without a 1:110m polygon (Singapore, Andorra) is kept
    over the polygon that contains the point when the point lies within
    ``edge_km`` of that polygon's edge, because simplified borders and coasts
    can be off by that much.
    """
    polygon_iso3 = data.countries.polygon_iso3
    index = located.country.tolist()
    fallback = located.country_fallback.tolist()
    countries: list[str | None] = []
    edges: dict[int, shapely.Geometry] = {}
    for i, stated in enumerate(stated_countries):
        inside = polygon_iso3[index[i]] if index[i] >= 0 and not fallback[i] else None
        nearest = polygon_iso3[index[i]] if index[i] >= 0 and fallback[i] else None
        reason = _stated_country_problem(data, stated, inside, nearest)
        chosen = inside or stated or nearest
        if reason == NOT_CHECKED and _near_edge(
            data, index[i], assets.latitudes[i], assets.longitudes[i], edge_km, edges
        ):
            reason = KEPT_STATED
            chosen = stated
        if reason is not None:
            warnings.append(
                assets.locator.problem(int(assets.rows[i]), "country", reason)
            )
        countries.append(chosen)
    return countries


def _near_edge(
    data: BiodiversityData,
    polygon: int,
    latitude: float,
    longitude: float,
    km: float,
    edges: dict[int, shapely.Geometry],
) -> bool:
    """Tell whether a point is within ``km`` of a country polygon's coast or border.

    The cut along ±180° is not an edge, and an edge across it counts at its
    distance on the globe. ``edges`` caches each polygon's edges, which every
    asset inside the polygon shares.
    """
    if km <= 0:
        return False
    if polygon not in edges:
        polygons = data.countries.polygons[polygon : polygon + 1]
        edges[polygon] = edges_off_antimeridian(polygons)[0]
    return distance_across_antimeridian_km(latitude, longitude, edges[polygon]) <= km


def _stated_country_problem(
    data: BiodiversityData, stated: str | None, inside: str | None, nearest: str | None
) -> str | None:
    """Return why a stated country does not fit the point, or None if it does.

    A point off the simplified coastline fits the stated country when that
    country's polygon is the nearest one within the fallback distance.
    """
    if stated is None or stated in (inside, nearest):
        return None
    if stated not in data.countries.polygon_of:
        if inside is None:
            return None  # e.g. a small island state at sea: nothing to compare
        return NOT_CHECKED
    return "the stated country does not contain the point"


def _flag_swapped(
    assets: MiningAssets,
    data: BiodiversityData,
    located: Locations,
    warnings: list[Problem],
) -> None:
    """Warn where a point is at sea but its swapped coordinates fall on land."""
    at_sea = ((located.country < 0) | located.country_fallback) & (
        (located.ecoregion < 0) | located.ecoregion_fallback
    )
    candidates = np.flatnonzero(at_sea & (np.abs(assets.longitudes) <= 90))
    if len(candidates) == 0:
        return
    on_land = data.countries_at(
        assets.longitudes[candidates], assets.latitudes[candidates]
    )
    for i in candidates[on_land >= 0].tolist():
        warnings.append(
            assets.locator.problem(
                int(assets.rows[i]),
                "latitude",
                "probably swapped: the point is at sea, but with latitude and "
                "longitude exchanged it falls on land",
            )
        )


def _star_concentration(
    values: IndicatorValues, count: int
) -> tuple[np.ndarray, dict[str, object] | None]:
    """Find the fewest assets that hold half of the portfolio's STAR-T score."""
    core = np.zeros(count, dtype=bool)
    scores = values.score("star_threat_abatement")
    if scores is None:
        return core, None
    score, basis = scores
    scored = np.flatnonzero(~np.isnan(score))
    total = float(score[scored].sum()) if len(scored) else 0.0
    if total <= 0:
        return core, {
            "assets_scored": int(len(scored)),
            "score_total": total,
            "assets_holding_half": 0,
            "share_of_assets": None,
            "basis": basis,
        }
    order = scored[np.argsort(-score[scored], kind="stable")]
    cumulative = np.cumsum(score[order])
    needed = int(np.searchsorted(cumulative, total / 2.0) + 1)
    core[order[:needed]] = True
    return core, {
        "assets_scored": int(len(scored)),
        "score_total": total,
        "assets_holding_half": needed,
        "share_of_assets": needed / len(scored),
        "basis": basis,
    }


def _summary(
    assets: MiningAssets, located: Locations, tiers: list[str]
) -> dict[str, object]:
    in_polygon = (located.ecoregion >= 0) & ~located.ecoregion_fallback
    return {
        "assets": len(assets),
        "located_in_ecoregion": int(in_polygon.sum()),
        "located_by_nearest_ecoregion": int(located.ecoregion_fallback.sum()),
        "not_located": int((located.ecoregion < 0).sum()),
        "assets_without_amount": int(np.isnan(assets.amounts).sum()),
        "exposure_total": float(np.nansum(assets.amounts)),
        "tier_counts": dict(Counter(tiers)),
    }


def _portfolio(
    assets: MiningAssets,
    located: Locations,
    data: BiodiversityData,
    tiers: list[str],
    star_summary: dict[str, object] | None,
) -> dict[str, object]:
    amounts = np.nan_to_num(assets.amounts, nan=0.0).tolist()
    records = data.ecoregions.records
    by_tier: dict[str, list[float]] = {tier: [0, 0.0] for tier in TIERS}
    by_biome: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    by_nnh: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    imperiled = [0, 0.0]
    located_total = [0, 0.0]
    for i, eco_index in enumerate(located.ecoregion.tolist()):
        by_tier[tiers[i]][0] += 1
        by_tier[tiers[i]][1] += amounts[i]
        if eco_index < 0:
            continue
        eco = records[eco_index]
        for bucket in (by_biome[eco.biome], by_nnh[eco.nnh_category], located_total):
            bucket[0] += 1
            bucket[1] += amounts[i]
        if eco.nnh == NATURE_IMPERILED:
            imperiled[0] += 1
            imperiled[1] += amounts[i]

    def rows(groups: dict[str, list[float]], key: str) -> list[dict[str, object]]:
        return [
            {key: name, "assets": int(n), "exposure": amount}
            for name, (n, amount) in groups.items()
        ]

    nnh_order = {label: code for code, label in NNH_CATEGORIES.items()}
    return {
        "by_tier": rows(by_tier, "tier"),
        "by_biome": sorted(rows(by_biome, "biome"), key=lambda r: -r["assets"]),
        "by_nnh_category": sorted(
            rows(by_nnh, "nnh_category"), key=lambda r: nnh_order[r["nnh_category"]]
        ),
        "nature_imperiled": {
            "assets": imperiled[0],
            "exposure": imperiled[1],
            "share_of_located_assets": _share(imperiled[0], located_total[0]),
            "share_of_located_exposure": _share(imperiled[1], located_total[1]),
        },
        "star_threat_abatement_concentration": star_summary,
    }


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None
