"""Agriculture dashboard: the land footprint of a portfolio's crops and its context.

``parse_agriculture_holdings`` turns an upload into ``AgricultureHoldings``
and raises one ``InputError`` with every row problem.
``build_agriculture_dashboard`` resolves commodities and countries and
estimates each holding's land footprint from national yields. It adds the
country's ecoregion profile, the commodity's ENCORE activity and layer-pack
indicators, tiers each holding and summarises the portfolio. Neither function
logs anything the user sent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nature_risk.biodiversity.crops import Commodity, all_commodities
from nature_risk.biodiversity.data import BiodiversityData, CountryProfile
from nature_risk.biodiversity.ecoregions import NNH_CATEGORIES
from nature_risk.biodiversity.encore import encore_activity
from nature_risk.biodiversity.indicators import country_indicators, indicator_catalogue
from nature_risk.biodiversity.inputs import (
    RowLocator,
    drop_whitespace_rows,
    finite_or_none,
    has_prefixed_column,
    problem_order,
    quantity_column,
    raise_problems,
    read_amounts,
    text_column,
)
from nature_risk.biodiversity.packs import LayerPack
from nature_risk.biodiversity.results import check_row_count, listed_problems
from nature_risk.biodiversity.tiers import (
    AGRICULTURE_GUIDANCE,
    MOSTLY_IMPERILED_SHARE,
    TIERS,
    UNRATED,
    TierDecision,
    agriculture_tier,
)
from nature_risk.config import InputLimits
from nature_risk.config.biodiversity import BiodiversityLimits
from nature_risk.errors import Problem
from nature_risk.option_flags import read_options
from nature_risk.portfolio_input import CURRENCY_ALIASES
from nature_risk.tabular import Table, read_table, require_records

if TYPE_CHECKING:
    # Imported for the annotation only, so that loading the geometry at
    # start-up does not also import the knowledge-base reader.
    from nature_risk.knowledge_base import KnowledgeBase

RECORDS_FIELD = "holdings"
COMPANY_ALIASES = ("company", "company_name", "issuer", "producer")
COMMODITY_ALIASES = ("commodity", "crop", "product")
COUNTRY_ALIASES = ("country", "country_code", "iso3", "iso2", "iso")
# Production and area columns must be named exactly as listed: a header such
# as area_km2, production_kg or production_year names another unit or meaning.
PRODUCTION_ALIASES = ("production_tonnes", "tonnes", "production_t", "production")
AREA_ALIASES = ("area_hectares", "hectares", "area_ha", "area")
AMOUNT_ALIASES = ("amount", "exposure", "exposure_amount", "value")
# How many holdings the portfolio's top-contributor list shows.
TOP_CONTRIBUTORS = 10
# How many biomes a country profile lists.
MAIN_BIOMES = 3


@dataclass(slots=True)
class AgricultureHoldings:
    """Validated agricultural holdings as parallel columns, one entry per input row.

    ``tonnes`` and ``hectares`` are NaN where not given (at least one is set
    on every row); ``amounts`` is NaN where no amount was given. ``currency``
    is the amounts' ISO 4217 code, or None where none was given.
    """

    locator: RowLocator
    rows: np.ndarray
    companies: list[str | None]
    commodities: list[str]
    countries: list[str]
    tonnes: np.ndarray
    hectares: np.ndarray
    amounts: np.ndarray
    currency: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def to_records(self) -> list[dict[str, object]]:
        """Return the holdings as JSON objects, one per holding, for storage."""
        return [
            {
                "row": int(self.rows[i]),
                "company": self.companies[i],
                "commodity": self.commodities[i],
                "country": self.countries[i],
                "production_tonnes": finite_or_none(self.tonnes[i]),
                "area_hectares": finite_or_none(self.hectares[i]),
                "amount": finite_or_none(self.amounts[i]),
            }
            for i in range(len(self))
        ]

    @classmethod
    def from_records(
        cls,
        records: list[dict[str, object]],
        locator: RowLocator | None = None,
        currency: str | None = None,
    ) -> AgricultureHoldings:
        """Rebuild holdings stored with ``to_records`` (already validated)."""
        count = len(records)

        def floats(key: str) -> np.ndarray:
            values = (records[i].get(key) for i in range(count))
            return np.fromiter(
                (np.nan if v is None else float(v) for v in values), float, count
            )

        return cls(
            locator=locator or RowLocator(),
            rows=np.fromiter((int(r["row"]) for r in records), np.int64, count),
            companies=[r.get("company") for r in records],
            commodities=[str(r.get("commodity") or "") for r in records],
            countries=[str(r.get("country") or "") for r in records],
            tonnes=floats("production_tonnes"),
            hectares=floats("area_hectares"),
            amounts=floats("amount"),
            currency=currency,
        )


def parse_agriculture_holdings(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> AgricultureHoldings:
    """Read and validate an agriculture upload: CSV, multipart or JSON ``holdings``.

    Raises ``InputError`` listing every row problem: a missing commodity or
    country, neither production nor area, an invalid number, or an amount
    currency that differs from the upload's (``read_amounts``). Raises
    ``PayloadTooLarge`` past ``MAX_AGRICULTURE_HOLDINGS`` rows. Names that do
    not resolve are not errors: the dashboard lists them.
    """
    table = read_table(
        body,
        content_type,
        limits,
        records_field=RECORDS_FIELD,
        numeric=(PRODUCTION_ALIASES, AREA_ALIASES, AMOUNT_ALIASES),
        amount_columns=(AMOUNT_ALIASES,),
        fields=(COMPANY_ALIASES, COMMODITY_ALIASES, COUNTRY_ALIASES, CURRENCY_ALIASES),
        declared=declared,
    )
    table = drop_whitespace_rows(table)
    require_records(table, "holdings")
    check_row_count(
        len(table.rows),
        BiodiversityLimits.from_env().max_agriculture_holdings,
        "MAX_AGRICULTURE_HOLDINGS",
        "agricultural holdings",
    )
    # No option changes this dashboard, but invalid options are rejected
    # as on every dashboard route.
    _, problems = read_options(table.form_fields.get("options"))
    count = len(table.rows)
    commodities = _required_text(table, COMMODITY_ALIASES, "commodity", problems)
    countries = _required_text(table, COUNTRY_ALIASES, "country", problems)
    production = quantity_column(
        table, PRODUCTION_ALIASES, "production_tonnes", "tonnes", problems
    )
    area = quantity_column(table, AREA_ALIASES, "area_hectares", "hectares", problems)
    amounts, currency = read_amounts(table, AMOUNT_ALIASES, problems)
    if production is None and area is None:
        problems.append(_missing_quantity_column(table))
    else:
        blank = np.zeros(count, dtype=bool)
        tonnes, filled_tonnes = production or (np.full(count, np.nan), blank)
        hectares, filled_hectares = area or (np.full(count, np.nan), blank)
        # A cell with an invalid number already has its own problem.
        for index in np.flatnonzero(~filled_tonnes & ~filled_hectares):
            problems.append(
                table.problem(
                    int(table.rows[index]),
                    "production_tonnes",
                    "missing: give production_tonnes or area_hectares",
                )
            )
    raise_problems(table.with_read_problems(problems), limits, "agricultural holdings")
    return AgricultureHoldings(
        locator=RowLocator.of(table),
        rows=table.rows,
        companies=text_column(table, COMPANY_ALIASES) or [None] * count,
        commodities=[c or "" for c in commodities],
        countries=[c or "" for c in countries],
        tonnes=tonnes,
        hectares=hectares,
        amounts=amounts if amounts is not None else np.full(count, np.nan),
        currency=currency,
    )


def _required_text(
    table: Table, aliases: tuple[str, ...], field: str, problems: list[Problem]
) -> list[str | None]:
    cells = text_column(table, aliases)
    if cells is None:
        problems.append(Problem(reason="missing column", field=field))
        return [None] * len(table.rows)
    for index, cell in enumerate(cells):
        if cell is None:
            problems.append(table.problem(int(table.rows[index]), field, "missing"))
    return cells


def _missing_quantity_column(table: Table) -> Problem:
    if has_prefixed_column(table, PRODUCTION_ALIASES + AREA_ALIASES):
        # The header itself is not quoted, because headers are user input.
        reason = (
            "missing column: a production or area column in other units is not "
            "read; give tonnes as production_tonnes or hectares as area_hectares"
        )
    else:
        reason = "missing column: give production_tonnes or area_hectares"
    return Problem(reason=reason, field="production_tonnes")


def build_agriculture_dashboard(
    holdings: AgricultureHoldings,
    data: BiodiversityData,
    packs: list[LayerPack],
    kb: KnowledgeBase,
) -> dict[str, object]:
    """Build the agriculture dashboard: footprints, profiles, tiers and totals."""
    table = holdings.locator
    unresolved: list[Problem] = []
    commodities = []
    countries = []
    # Portfolios repeat few names, so each distinct text resolves once.
    resolve_commodity = functools.cache(data.yields.resolve_commodity)
    resolve_country = functools.cache(data.countries.resolve)
    for i in range(len(holdings)):
        row = int(holdings.rows[i])
        commodity = resolve_commodity(holdings.commodities[i])
        if commodity is None:
            unresolved.append(
                table.problem(row, "commodity", "commodity not recognised")
            )
        iso3 = resolve_country(holdings.countries[i])
        if iso3 is None:
            unresolved.append(
                table.problem(
                    row,
                    "country",
                    "country not recognised: use an ISO 3166 code or an English name",
                )
            )
        commodities.append(commodity)
        countries.append(iso3)

    values = country_indicators(
        packs, countries, [c.id if c else None for c in commodities]
    )
    # Each country's profile and each commodity's ENCORE activity appear once,
    # in "countries" and "commodities"; a holding names them by key.
    activities: dict[str, dict[str, object] | None] = {}
    country_entries: dict[str, dict[str, object]] = {}
    commodity_entries: dict[str, dict[str, object]] = {}
    results = []
    for i in range(len(holdings)):
        commodity, iso3 = commodities[i], countries[i]
        row = int(holdings.rows[i])
        footprint, footprint_basis, used_yield = _footprint(
            holdings, data, i, commodity, iso3
        )
        if commodity is not None and iso3 is not None and footprint is None:
            unresolved.append(
                table.problem(
                    row,
                    "production_tonnes",
                    "the yield data do not cover this commodity: give area_hectares",
                )
            )
        profile = data.country_profile(iso3) if iso3 else None
        if iso3 and iso3 not in country_entries:
            country_entries[iso3] = {
                "name": data.countries.name(iso3),
                "profile": _profile_dict(profile, data),
            }
        main_biome = next(iter(profile.biome_shares), None) if profile else None
        if commodity is not None and commodity.id not in commodity_entries:
            if commodity.isic_class not in activities:
                activities[commodity.isic_class] = encore_activity(
                    kb, commodity.isic_class
                )
            commodity_entries[commodity.id] = {
                "label": commodity.label,
                "isic_class": commodity.isic_class,
                "isic_label": commodity.isic_label,
                "encore_activity": activities[commodity.isic_class],
            }
        decision = _tier(commodity, iso3, profile, main_biome)
        results.append(
            {
                "row": row,
                "company": holdings.companies[i],
                "commodity": commodity.id if commodity else None,
                "country": iso3,
                "production_tonnes": finite_or_none(holdings.tonnes[i]),
                "area_hectares": finite_or_none(holdings.hectares[i]),
                "amount": finite_or_none(holdings.amounts[i]),
                "yield": used_yield,
                "footprint_hectares": footprint,
                "footprint_basis": footprint_basis,
                "indicators": values.for_item(i),
                "tier": decision.tier,
                "tier_reasons": decision.reasons,
            }
        )

    return {
        "module": "agriculture",
        # As on the natural capital dashboard, no amounts means no currency.
        "currency": (
            holdings.currency if np.isfinite(holdings.amounts).any() else None
        ),
        "summary": {
            "holdings": len(holdings),
            "resolved": sum(
                1 for c, k in zip(commodities, countries, strict=True) if c and k
            ),
            "with_footprint": sum(
                1 for r in results if r["footprint_hectares"] is not None
            ),
            "footprint_hectares_total": sum(
                r["footprint_hectares"] or 0.0 for r in results
            ),
            "exposure_total": float(np.nansum(holdings.amounts)),
        },
        "portfolio": _portfolio(results, country_entries, commodity_entries),
        "holdings": results,
        "countries": country_entries,
        "commodities": commodity_entries,
        **listed_problems("unresolved", sorted(unresolved, key=problem_order)),
        "yield_coverage": _yield_coverage(data),
        "indicators": indicator_catalogue(packs, "agriculture"),
        "guidance": AGRICULTURE_GUIDANCE,
        "datasets": data.datasets(),
        "knowledge_base": {
            "release": kb.release.name,
            "attribution": kb.release.attribution,
        },
        "layer_packs": [pack.describe() for pack in packs],
    }


def _tier(
    commodity: Commodity | None,
    iso3: str | None,
    profile: CountryProfile | None,
    main_biome: str | None,
) -> TierDecision:
    if commodity is None:
        return TierDecision(UNRATED, ["commodity not recognised"])
    if iso3 is None:
        return TierDecision(UNRATED, ["country not recognised"])
    return agriculture_tier(
        imperiled_share=profile.imperiled_share if profile else None,
        main_biome=main_biome,
        commodity_id=commodity.id,
    )


def _footprint(
    holdings: AgricultureHoldings,
    data: BiodiversityData,
    i: int,
    commodity: object,
    iso3: str | None,
) -> tuple[float | None, str | None, dict[str, object] | None]:
    """Return the footprint in ha, its basis and the yield used, if any.

    A stated area is the footprint. Otherwise production / yield, with the
    country's latest yield or, when the country has none, the world average.
    """
    area = holdings.hectares[i]
    if not np.isnan(area):
        return float(area), "stated_area", None
    if commodity is None or iso3 is None:
        return None, None, None
    found, basis = data.yields.yield_for(commodity, iso3)
    if found is None:
        return None, None, None
    used = {
        "tonnes_per_hectare": found.tonnes_per_hectare,
        "year": found.year,
        "basis": basis,
        "area": iso3 if basis == "country" else "world",
    }
    return float(holdings.tonnes[i] / found.tonnes_per_hectare), f"{basis}_yield", used


def _profile_dict(
    profile: CountryProfile | None, data: BiodiversityData
) -> dict[str, object] | None:
    if profile is None:
        return None
    return {
        "imperiled_share": profile.imperiled_share,
        "mostly_imperiled": profile.imperiled_share >= MOSTLY_IMPERILED_SHARE,
        "nnh_shares": [
            {"nnh": nnh, "category": NNH_CATEGORIES[nnh], "share": share}
            for nnh, share in profile.nnh_shares.items()
        ],
        "main_biomes": [
            {"biome": biome, "share": share}
            for biome, share in list(profile.biome_shares.items())[:MAIN_BIOMES]
        ],
        "country_area_km2": profile.area_km2,
        "mapped_share": profile.mapped_km2 / profile.area_km2
        if profile.area_km2
        else None,
    }


def _portfolio(
    results: list[dict[str, object]],
    countries: dict[str, dict[str, object]],
    commodities: dict[str, dict[str, object]],
) -> dict[str, object]:
    total = sum(r["footprint_hectares"] or 0.0 for r in results)
    by_country: dict[str, dict[str, object]] = {}
    by_commodity: dict[str, dict[str, object]] = {}
    by_tier = {
        tier: {"tier": tier, "holdings": 0, "footprint_hectares": 0.0, "exposure": 0.0}
        for tier in TIERS
    }
    imperiled = 0.0
    for result in results:
        footprint = result["footprint_hectares"] or 0.0
        amount = result["amount"] or 0.0
        tier = by_tier[result["tier"]]
        tier["holdings"] += 1
        tier["footprint_hectares"] += footprint
        tier["exposure"] += amount
        iso3 = result["country"]
        commodity_id = result["commodity"]
        if iso3:
            profile = countries[iso3]["profile"]
            entry = by_country.setdefault(
                iso3,
                {
                    "iso3": iso3,
                    "name": countries[iso3]["name"],
                    "holdings": 0,
                    "footprint_hectares": 0.0,
                    "imperiled_share": (profile or {}).get("imperiled_share"),
                },
            )
            entry["holdings"] += 1
            entry["footprint_hectares"] += footprint
            if profile and profile["mostly_imperiled"]:
                imperiled += footprint
        if commodity_id:
            entry = by_commodity.setdefault(
                commodity_id,
                {
                    "commodity": commodity_id,
                    "label": commodities[commodity_id]["label"],
                    "holdings": 0,
                    "footprint_hectares": 0.0,
                },
            )
            entry["holdings"] += 1
            entry["footprint_hectares"] += footprint

    def with_share(entries: list[dict[str, object]]) -> list[dict[str, object]]:
        for entry in entries:
            entry["share"] = entry["footprint_hectares"] / total if total > 0 else None
        return sorted(entries, key=lambda e: -e["footprint_hectares"])

    ranked = sorted(
        (r for r in results if r["footprint_hectares"]),
        key=lambda r: -r["footprint_hectares"],
    )[:TOP_CONTRIBUTORS]
    return {
        "footprint_hectares_total": total,
        "by_country": with_share(list(by_country.values())),
        "by_commodity": with_share(list(by_commodity.values())),
        "mostly_imperiled_countries": {
            "footprint_hectares": imperiled,
            "share_of_footprint": imperiled / total if total > 0 else None,
            "threshold": MOSTLY_IMPERILED_SHARE,
        },
        "top_contributors": [
            {
                "row": r["row"],
                "company": r["company"],
                "commodity": r["commodity"],
                "country": r["country"],
                "footprint_hectares": r["footprint_hectares"],
                "share": r["footprint_hectares"] / total if total > 0 else None,
            }
            for r in ranked
        ],
        "by_tier": list(by_tier.values()),
    }


def _yield_coverage(data: BiodiversityData) -> dict[str, object]:
    covered = set(data.yields.covered_commodities())
    return {
        "with_yields": sorted(covered),
        "without_yields": sorted(
            c.id for c in all_commodities() if c.id not in covered
        ),
        "latest_year": max(
            (y.year for table in data.yields.latest.values() for y in table.values()),
            default=None,
        ),
    }
