"""Agricultural holdings: name resolution, yields, footprints, profiles, tiers."""

from __future__ import annotations

import json

import pytest
from nature_risk.biodiversity.agriculture import (
    AgricultureHoldings,
    build_agriculture_dashboard,
    parse_agriculture_holdings,
)
from nature_risk.biodiversity.packs import load_pack
from nature_risk.config import InputLimits
from nature_risk.errors import InputError
from nature_risk.knowledge_base import load_knowledge_base

from tests.unit.biodiversity_support import load_data, write_pack

LIMITS = InputLimits()
HEADER = "company,commodity,country,production_tonnes,area_hectares,amount\n"


@pytest.fixture(scope="module")
def data(biodiversity_dir):
    return load_data(biodiversity_dir)


@pytest.fixture(scope="module")
def kb(encore_dir):
    return load_knowledge_base(encore_dir)


def parse_csv(text: str) -> AgricultureHoldings:
    return parse_agriculture_holdings((HEADER + text).encode(), "text/csv", LIMITS)


def holding(data, kb, line: str, packs=()) -> dict[str, object]:
    return build_agriculture_dashboard(parse_csv(line), data, list(packs), kb)[
        "holdings"
    ][0]


def test_wheat_france_yield_and_footprint(data, kb):
    result = holding(data, kb, "A,Wheat,France,68427,,\n")
    assert result["yield"] == {
        "tonnes_per_hectare": pytest.approx(6.8427),
        "year": 2018,
        "basis": "country",
        "area": "FRA",
    }
    assert result["footprint_hectares"] == pytest.approx(10_000.0)
    assert result["footprint_basis"] == "country_yield"


def test_soybeans_ivory_coast_yield(data, kb):
    result = holding(data, kb, "A,soya,Côte d’Ivoire,1475.2,,\n")
    assert result["country"] == "CIV"
    assert result["commodity"] == "soybeans"
    assert result["yield"]["tonnes_per_hectare"] == pytest.approx(1.4752)
    assert result["footprint_hectares"] == pytest.approx(1000.0)


def test_world_yield_fallback(data, kb):
    # France reports no cocoa yield, so the world average applies.
    result = holding(data, kb, "A,cocoa,FR,443.8,,\n")
    assert result["yield"]["basis"] == "world"
    assert result["yield"]["area"] == "world"
    assert result["yield"]["tonnes_per_hectare"] == pytest.approx(0.4438)
    assert result["footprint_basis"] == "world_yield"
    assert result["footprint_hectares"] == pytest.approx(1000.0)


def test_stated_area_is_the_footprint(data, kb):
    result = holding(data, kb, "A,oil palm,Indonesia,,2500,\n")
    assert result["footprint_hectares"] == 2500.0
    assert result["footprint_basis"] == "stated_area"
    assert result["yield"] is None


def test_crop_without_yield_needs_area(data, kb):
    dashboard = build_agriculture_dashboard(
        parse_csv("A,coffee,Brazil,100,,\n"), data, [], kb
    )
    assert dashboard["holdings"][0]["footprint_hectares"] is None
    assert dashboard["unresolved"] == [
        {
            "reason": "the yield data do not cover this commodity: give area_hectares",
            "row": 2,
            "field": "production_tonnes",
        }
    ]


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("Côte d’Ivoire", "CIV"),
        ("ivory coast", "CIV"),
        ("CI", "CIV"),
        ("civ", "CIV"),
        ("United States", "USA"),
        ("US", "USA"),
        ("NA", "NAM"),
        ("Viet Nam", "VNM"),
        ("Russia", "RUS"),
        ("the Netherlands", "NLD"),
        ("Democratic Republic of the Congo", "COD"),
        ("U.K.", "GBR"),
        ("U.S.A.", "USA"),
        ("U.S.", "USA"),
        ("UAE", "ARE"),
        ("XK", "KOS"),
        ("XKX", "KOS"),
        ("Kosovo", "KOS"),
        ("St. Lucia", "LCA"),
    ],
)
def test_country_names_resolve(data, text, iso3):
    assert data.countries.resolve(text) == iso3


@pytest.mark.parametrize(
    ("text", "commodity"),
    [
        ("Wheat", "wheat"),
        ("corn", "maize"),
        ("Soybean", "soybeans"),
        ("cacao", "cocoa_beans"),
        ("Potato", "potatoes"),
        ("sugarcane", "sugar_cane"),
        ("Palm oil", "oil_palm"),
    ],
)
def test_commodity_names_resolve(data, text, commodity):
    assert data.yields.resolve_commodity(text).id == commodity


def test_unresolved_names_reported(data, kb):
    dashboard = build_agriculture_dashboard(
        parse_csv("A,unobtainium,Atlantis,5,,\n"), data, [], kb
    )
    assert dashboard["unresolved"] == [
        {"reason": "commodity not recognised", "row": 2, "field": "commodity"},
        {
            "reason": "country not recognised: use an ISO 3166 code or an English name",
            "row": 2,
            "field": "country",
        },
    ]
    assert dashboard["holdings"][0]["tier"] == "unrated"


def test_yield_coverage_listed(data, kb):
    dashboard = build_agriculture_dashboard(parse_csv("A,wheat,FR,1,,\n"), data, [], kb)
    coverage = dashboard["yield_coverage"]
    assert len(coverage["with_yields"]) == 11
    assert "cocoa_beans" in coverage["with_yields"]
    assert "oil_palm" in coverage["without_yields"]
    assert coverage["latest_year"] == 2018


def test_country_profile_shares(data):
    profile = data.country_profile("IND")
    assert sum(profile.nnh_shares.values()) == pytest.approx(1.0)
    assert sum(profile.biome_shares.values()) == pytest.approx(1.0)
    assert profile.imperiled_share > 0.5
    assert data.country_profile("FRA").imperiled_share < 0.05
    assert profile.mapped_km2 / profile.area_km2 > 0.95


def test_country_profile_cached(data):
    assert data.country_profile("KEN") is data.country_profile("KEN")


def test_country_without_polygon_has_no_profile(data):
    # Singapore is too small for the 1:110m country polygons.
    assert data.country_profile("SGP") is None


@pytest.mark.parametrize(
    ("commodity", "activity_id", "level"),
    [
        ("wheat", "A_1_11_111", "class"),
        ("rice", "A_1_11_112", "class"),
        ("cassava", "A_1_11_113", "class"),
        ("coffee", "A_1_12", "group"),
    ],
)
def test_encore_activity(data, kb, commodity, activity_id, level):
    dashboard = build_agriculture_dashboard(
        parse_csv(f"A,{commodity},Brazil,,100,\n"), data, [], kb
    )
    commodity_id = dashboard["holdings"][0]["commodity"]
    activity = dashboard["commodities"][commodity_id]["encore_activity"]
    assert activity["activity_id"] == activity_id
    assert activity["level"] == level
    ratings = {entry["rating"] for entry in activity["main_dependencies"]}
    assert ratings <= {"VH", "H"}
    assert activity["main_pressures"]


def test_tiers(data, kb):
    dashboard = build_agriculture_dashboard(
        parse_csv(
            "A,soybeans,Brazil,,100,\n"  # forest-risk crop, tropical forest country
            "B,wheat,India,,100,\n"  # mostly imperiled
            "C,wheat,France,,100,\n"
        ),
        data,
        [],
        kb,
    )
    tiers = [h["tier"] for h in dashboard["holdings"]]
    assert tiers == ["tier_1", "tier_1", "tier_3"]


def test_portfolio_figures(data, kb):
    dashboard = build_agriculture_dashboard(
        parse_csv(
            "A,wheat,India,,300,10\nB,wheat,France,,100,\nB,maize,France,,100,\n"
        ),
        data,
        [],
        kb,
    )
    portfolio = dashboard["portfolio"]
    assert portfolio["footprint_hectares_total"] == 500.0
    countries = {row["iso3"]: row for row in portfolio["by_country"]}
    assert countries["IND"]["share"] == pytest.approx(0.6)
    assert countries["FRA"]["footprint_hectares"] == 200.0
    commodities = {row["commodity"]: row["share"] for row in portfolio["by_commodity"]}
    assert commodities == {"wheat": pytest.approx(0.8), "maize": pytest.approx(0.2)}
    assert portfolio["mostly_imperiled_countries"]["share_of_footprint"] == (
        pytest.approx(0.6)
    )
    assert [c["row"] for c in portfolio["top_contributors"]] == [2, 3, 4]
    tiers = {row["tier"]: row["footprint_hectares"] for row in portfolio["by_tier"]}
    assert tiers["tier_1"] == 300.0


def test_parse_problems(data):
    with pytest.raises(InputError) as caught:
        parse_csv(",wheat,,5,,\nA,,FR,,,\nA,maize,FR,-3,,\n")
    located = {(p.row, p.field) for p in caught.value.problems}
    assert located == {
        (2, "country"),
        (3, "commodity"),
        (3, "production_tonnes"),
        (4, "production_tonnes"),
    }


def test_parse_needs_production_or_area_column():
    with pytest.raises(InputError) as caught:
        parse_agriculture_holdings(b"commodity,country\nwheat,FR\n", "text/csv", LIMITS)
    assert caught.value.problems[0].field == "production_tonnes"


def test_json_holdings(data, kb):
    body = json.dumps(
        {
            "holdings": [
                {"commodity": "wheat", "country": "FRA", "production_tonnes": 6842.7}
            ]
        }
    ).encode()
    holdings = parse_agriculture_holdings(body, "application/json", LIMITS)
    result = build_agriculture_dashboard(holdings, data, [], kb)
    assert result["holdings"][0]["footprint_hectares"] == pytest.approx(1000.0)
    assert result["holdings"][0]["row"] == 0


def test_country_commodity_pack(data, kb, tmp_path):
    pack = load_pack(
        write_pack(
            tmp_path,
            "risk",
            kind="country_commodity",
            indicators=[{"id": "deforestation_risk", "units": "index"}],
            header=["country", "commodity", "deforestation_risk"],
            rows=[["BRA", "soybeans", 0.9]],
        )
    )
    result = holding(data, kb, "A,soy,Brazil,,10,\n", [pack])
    assert result["indicators"]["deforestation_risk"]["value"] == 0.9
    other = holding(data, kb, "A,wheat,Brazil,,10,\n", [pack])
    assert other["indicators"]["deforestation_risk"]["value"] is None


def test_records_round_trip(data, kb):
    holdings = parse_csv("A,wheat,France,100,,5\nB,soy,BR,,20,\n")
    stored = json.loads(json.dumps(holdings.to_records()))
    rebuilt = AgricultureHoldings.from_records(stored)
    first = build_agriculture_dashboard(holdings, data, [], kb)
    second = build_agriculture_dashboard(rebuilt, data, [], kb)
    assert first["holdings"] == second["holdings"]


def parse_problems(text: str, header: str = HEADER) -> list[dict[str, object]]:
    body = (header + text).encode()
    with pytest.raises(InputError) as caught:
        parse_agriculture_holdings(body, "text/csv", LIMITS)
    return [problem.to_dict() for problem in caught.value.problems]


@pytest.mark.parametrize("cell", ["EUR 5", "€5"])
def test_production_with_currency_one_problem(cell):
    problems = parse_problems(f'A,wheat,FR,"{cell}",,\n')
    assert problems == [
        {
            "reason": "a quantity cannot have a currency",
            "row": 2,
            "field": "production_tonnes",
        }
    ]


@pytest.mark.parametrize("cell", ["-", "5 t", "1,000", "4_5", "nan", "inf"])
def test_production_not_a_number(cell):
    problems = parse_problems(f'A,wheat,FR,"{cell}",,\n')
    assert problems == [
        {
            "reason": "not a number: give tonnes as a plain number such as 1234.5",
            "row": 2,
            "field": "production_tonnes",
        }
    ]


def test_negative_production_one_problem():
    problems = parse_problems("A,wheat,FR,-3,,\n")
    assert problems == [
        {
            "reason": "negative: tonnes must be zero or more",
            "row": 2,
            "field": "production_tonnes",
        }
    ]


def test_invalid_area_names_hectares():
    problems = parse_problems("A,wheat,FR,,abc,\n")
    assert problems[0]["field"] == "area_hectares"
    assert "hectares" in problems[0]["reason"]


@pytest.mark.parametrize(
    "holdings",
    [
        # 1.7e307 t at Guadeloupe's cocoa yield of 0.0934 t/ha would overflow.
        [{"commodity": "cocoa", "country": "GLP", "production_tonnes": "1.7e307"}],
        [
            {"commodity": "wheat", "country": "IN", "area_hectares": 1.7e308},
            {"commodity": "wheat", "country": "IN", "area_hectares": 1.7e308},
        ],
    ],
    ids=["one_footprint", "share_of_total"],
)
def test_quantity_over_maximum_rejected(holdings):
    body = json.dumps({"holdings": holdings}).encode()
    with pytest.raises(InputError) as caught:
        parse_agriculture_holdings(body, "application/json", LIMITS)
    problems = [problem.to_dict() for problem in caught.value.problems]
    assert len(problems) == len(holdings)
    assert problems[0]["field"].startswith("holdings[0].")
    assert "at most 1e+12" in problems[0]["reason"]


def test_largest_quantities_stay_finite(data, kb):
    lines = "A,cocoa,GLP,1e12,,1e18\n" * 3 + "A,wheat,IN,,1e12,1e18\n" * 3
    dashboard = build_agriculture_dashboard(parse_csv(lines), data, [], kb)
    text = json.dumps(dashboard, allow_nan=False)
    assert dashboard["summary"]["with_footprint"] == 6
    assert "Infinity" not in text


@pytest.mark.parametrize(
    "header",
    ["area_km2", "area_acres", "production_kg", "tonnes_co2e", "production_year"],
)
def test_quantity_header_in_other_unit_rejected(header):
    problems = parse_problems("wheat,FR,10\n", f"commodity,country,{header}\n")
    assert problems == [
        {
            "reason": "missing column: a production or area column in other units "
            "is not read; give tonnes as production_tonnes or hectares as "
            "area_hectares",
            "field": "production_tonnes",
        }
    ]


def test_unit_column_beside_exact_column_ignored():
    text = "commodity,country,production_year,area_hectares\nwheat,FR,2020,\n"
    problems = parse_problems("", text)
    assert problems == [
        {
            "reason": "missing: give production_tonnes or area_hectares",
            "row": 2,
            "field": "production_tonnes",
        }
    ]


def test_whitespace_row_skipped():
    holdings = parse_csv("A,wheat,FR,100,,\n  ,  ,  ,  ,  ,  \nB,maize,FR,5,,\n")
    assert holdings.rows.tolist() == [2, 4]


def test_whitespace_rows_only_rejected():
    problems = parse_problems("  ,  ,  ,  ,  ,  \n")
    assert problems == [{"reason": "no holdings"}]


def test_unknown_country_tier_reason(data, kb):
    result = holding(data, kb, "A,coffee,ZZZ,5,,\n")
    assert result["tier"] == "unrated"
    assert result["tier_reasons"] == ["country not recognised"]


def test_unresolved_in_row_order(data, kb):
    # Row 2 misses a yield, row 3 a country: the list follows the rows.
    lines = "A,cotton,SGP,5,,\nA,wheat,Atlantis,5,,\n"
    dashboard = build_agriculture_dashboard(parse_csv(lines), data, [], kb)
    rows = [problem["row"] for problem in dashboard["unresolved"]]
    assert rows == sorted(rows)
    assert rows[0] == 2


def test_extra_cells_reported_with_other_rows():
    problems = parse_problems(
        "Farms,wheat,FR,100,,5,extra\nFarms,,FR,100,,5\nFarms,wheat,FR,abc,,5\n"
    )

    located = [(p["row"], p.get("field")) for p in problems]
    assert located == [(2, None), (3, "commodity"), (4, "production_tonnes")]
