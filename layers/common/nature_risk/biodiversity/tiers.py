"""Priority tiers and engagement guidance for mining assets and agricultural holdings.

Tier 1 is the highest priority for engagement. The rules are
described in ``docs/methodology.md`` and coded in the functions below. The
guidance is written for a financial analyst preparing questions for a company.
"""

from __future__ import annotations

from dataclasses import dataclass

from nature_risk.biodiversity.ecoregions import MANGROVES_BIOME, NATURE_IMPERILED

TIER_1 = "tier_1"
TIER_2 = "tier_2"
TIER_3 = "tier_3"
UNRATED = "unrated"
TIERS = (TIER_1, TIER_2, TIER_3, UNRATED)

# A country counts as mostly imperiled when at least this share of its mapped
# land lies in Nature Imperiled ecoregions.
MOSTLY_IMPERILED_SHARE = 0.5
# Agriculture tier 2 starts at this share of imperiled land.
PARTLY_IMPERILED_SHARE = 0.2
# Crops whose expansion is a documented main driver of tropical deforestation.
FOREST_RISK_COMMODITIES = frozenset({"soybeans", "cocoa_beans", "oil_palm", "coffee"})
TROPICAL_FOREST_BIOMES = frozenset(
    {
        "Tropical & Subtropical Moist Broadleaf Forests",
        "Tropical & Subtropical Dry Broadleaf Forests",
        "Tropical & Subtropical Coniferous Forests",
        "Mangroves",
    }
)


@dataclass(frozen=True, slots=True)
class TierDecision:
    """A tier and the rule reasons that set it."""

    tier: str
    reasons: list[str]


def mining_tier(
    *,
    located: bool,
    nnh: int | None,
    biome_number: int | None,
    status: str | None,
    near_protected_or_kba: bool,
    in_star_core: bool,
) -> TierDecision:
    """Tier one mining asset.

    The location's sensitivity is high in a Nature Imperiled ecoregion, in
    mangroves, within the radius of a protected area or KBA (with a pack), or
    among the assets holding half the portfolio's STAR-T score (with a pack).
    It is medium in NNH categories 1-3 and low on rock and ice. Operating,
    development and unknown status keep the sensitivity's tier. A closed asset
    drops one tier.
    """
    if not located:
        return TierDecision(UNRATED, ["location in no ecoregion"])
    reasons = []
    if nnh == NATURE_IMPERILED:
        reasons.append("ecoregion is Nature Imperiled")
    if biome_number == MANGROVES_BIOME:
        reasons.append("mangrove ecoregion")
    if near_protected_or_kba:
        reasons.append("protected area or Key Biodiversity Area within the radius")
    if in_star_core:
        reasons.append("among the assets holding half of the portfolio's STAR-T score")
    if reasons:
        level = 1
    elif nnh in (1, 2, 3):
        level = 2
        reasons.append("ecoregion with remaining or protected natural habitat")
    else:
        level = 3
        reasons.append("rock and ice")
    if status == "closed":
        level = min(level + 1, 3)
        reasons.append("asset is closed: legacy and rehabilitation risk only")
    elif status is None:
        reasons.append("status unknown: treated as operating")
    return TierDecision(f"tier_{level}", reasons)


def agriculture_tier(
    *,
    imperiled_share: float | None,
    main_biome: str | None,
    commodity_id: str,
) -> TierDecision:
    """Tier one agricultural holding from its country profile and commodity.

    Tier 1: most of the country's land is in Nature Imperiled ecoregions, or a
    forest-risk commodity comes from a country whose main biome is a tropical
    forest. Tier 2: at least a fifth of the land is imperiled. Tier 3 otherwise.
    """
    if imperiled_share is None:
        return TierDecision(UNRATED, ["no ecoregion profile for the country"])
    reasons = []
    if imperiled_share >= MOSTLY_IMPERILED_SHARE:
        reasons.append("most of the country's land is in Nature Imperiled ecoregions")
    if commodity_id in FOREST_RISK_COMMODITIES and main_biome in TROPICAL_FOREST_BIOMES:
        reasons.append("forest-risk commodity from a mainly tropical-forest country")
    if reasons:
        return TierDecision(TIER_1, reasons)
    if imperiled_share >= PARTLY_IMPERILED_SHARE:
        return TierDecision(
            TIER_2, ["at least a fifth of the country's land is Nature Imperiled"]
        )
    return TierDecision(TIER_3, ["most of the country's land is not imperiled"])


MINING_GUIDANCE = {
    TIER_1: {
        "priority": "Engage now; consider it in credit and investment decisions.",
        "ask_about": [
            "Whether the site lies in or next to a protected area, Key Biodiversity "
            "Area or World Heritage site, and the company's no-go commitments.",
            "A site biodiversity action plan that applies the mitigation hierarchy "
            "(avoid, minimise, restore, offset) with a no-net-loss or net-gain target "
            "for critical habitat, as IFC Performance Standard 6 expects.",
            "Independent baseline surveys and monitoring of species and habitats, "
            "and whether results are published.",
            "Tailings facilities: conformance with the Global Industry Standard on "
            "Tailings Management and the consequence classification.",
            "Water withdrawal, discharge quality and the effect on downstream "
            "ecosystems.",
            "Closure and rehabilitation plans with costed financial provisions.",
            "Disclosure against TNFD (the LEAP approach) for this site.",
        ],
    },
    TIER_2: {
        "priority": "Engage within the regular review cycle.",
        "ask_about": [
            "A biodiversity policy covering this site and how the mitigation "
            "hierarchy is applied to expansion plans.",
            "Land clearance to date and planned, and the rehabilitation done so far.",
            "Water and waste management, including tailings governance.",
            "Closure plans and financial provisions.",
        ],
    },
    TIER_3: {
        "priority": "Monitor; no specific engagement needed now.",
        "ask_about": [
            "Confirmation that closure and rehabilitation obligations are funded.",
            "Any plans to expand the site or to reopen it.",
        ],
    },
    UNRATED: {
        "priority": "Check the location first.",
        "ask_about": [
            "The correct coordinates of the site, since the given point lies in no "
            "mapped ecoregion (at sea or off the simplified coastline).",
        ],
    },
}

AGRICULTURE_GUIDANCE = {
    TIER_1: {
        "priority": "Engage now; consider it in credit and investment decisions.",
        "ask_about": [
            "A deforestation- and conversion-free commitment with a cut-off date, "
            "covering direct and indirect suppliers.",
            "Traceability to the farm or plot of production and the share of volume "
            "that is traced.",
            "Compliance with the EU Deforestation Regulation where products enter "
            "the EU market.",
            "Certification (for example RTRS for soy, Rainforest Alliance for cocoa, "
            "RSPO for palm oil) and the share of certified volume.",
            "Restoration of converted land and protection of remaining habitat.",
            "Fertiliser, pesticide and water use per tonne, and targets to cut them.",
        ],
    },
    TIER_2: {
        "priority": "Engage within the regular review cycle.",
        "ask_about": [
            "Sourcing policies on land conversion and how they are checked.",
            "Soil health, fertiliser and pesticide management, and water use.",
            "Yields relative to the national average, as land efficiency drives the "
            "footprint.",
        ],
    },
    TIER_3: {
        "priority": "Monitor; no specific engagement needed now.",
        "ask_about": [
            "Regenerative practices and input efficiency, reported annually.",
        ],
    },
    UNRATED: {
        "priority": "Complete the data first.",
        "ask_about": [
            "The producing country, since it could not be matched to a mapped "
            "country profile.",
        ],
    },
}
