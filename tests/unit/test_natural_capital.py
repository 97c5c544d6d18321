"""Dashboard math, checked by hand against the top-level ENCORE release.

Every expected number below was computed from the CSV cells named in the
comments: file 06 is ``ENCORE files/06. Dependency mat ratings.csv`` and file
07 is ``ENCORE files/07. Pressure mat ratings.csv``; row numbers are
spreadsheet rows (header = row 1).

The portfolio (amounts in EUR):

    row  code                                   amount  activities
    2    A_1_11_111                             100     cereals (06 r9, 07 r9)
    3    D_35_351:solar-energy-production       50      solar (06 r35, 07 r122)
    4    0141                                   30      cattle (06 r2, 07 r22)
    5    not a code                             20      unmatched
    6    D_35_351:transmission-and-...          10      transmission (06/07 r272)
    7    C_10_101                               40      meat (06 r30, 07 r105)
    8    D_35_351                               60      all nine power rows

Matched exposure is 100 + 50 + 30 + 10 + 40 + 60 = 290 of 310.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nature_risk.config import InputLimits
from nature_risk.errors import InputError
from nature_risk.knowledge_base import load_knowledge_base
from nature_risk.natural_capital import DashboardOptions, build_dashboard
from nature_risk.portfolio_input import HoldingsTable, parse_holdings

TRANSMISSION = "D_35_351:transmission-and-distribution-of-electricity"
CODES = [
    "A_1_11_111",
    "D_35_351:solar-energy-production",
    "0141",
    "not a code",
    TRANSMISSION,
    "C_10_101",
    "D_35_351",
]
AMOUNTS = [100.0, 50.0, 30.0, 20.0, 10.0, 40.0, 60.0]


@pytest.fixture(scope="module")
def kb(encore_dir):
    return load_knowledge_base(encore_dir)


def holdings(codes=CODES, amounts=AMOUNTS, currency="EUR"):
    return HoldingsTable(
        rows=np.arange(2, 2 + len(codes), dtype=np.int64),
        names=[f"Holding {i}" for i in range(len(codes))],
        codes=list(codes),
        amounts=None if amounts is None else np.array(amounts, dtype=np.float64),
        currency=currency,
    )


@pytest.fixture(scope="module")
def dashboard(kb):
    return build_dashboard(holdings(), kb, DashboardOptions())


def entry(dashboard, section, key, name):
    return next(item for item in dashboard[section] if item[key] == name)


def test_totals(dashboard):
    assert dashboard["totals"] == {
        "holdings": 7,
        "matched_holdings": 6,
        "exposure": 310.0,
        "matched_exposure": 290.0,
    }
    assert dashboard["currency"] == "EUR"
    assert dashboard["weighting"] == "amount"


def test_water_supply_by_rating(dashboard):
    # Water supply in 06: r9 H, r35 M, r2 H, r272 VL, r30 H; the nine power
    # rows (r31-38, r272) are H, H, VH, M, M, VL, L, M, VL, so D_35_351 is VH.
    water = entry(dashboard, "dependencies", "ecosystem_service", "Water supply")
    assert water["exposure_by_rating"] == {
        "VH": 60.0,
        "H": 170.0,
        "M": 50.0,
        "L": 0.0,
        "VL": 10.0,
        "ND": 0.0,
        "N/A": 0.0,
    }
    assert water["share_high_or_very_high"] == pytest.approx(230 / 290)
    assert water["max_rating"] == "VH"
    # (60*5 + 170*4 + 50*3 + 10*1) / 290
    assert water["mean_score"] == pytest.approx(1140 / 290)


def test_pollination_by_rating(dashboard):
    # Pollination in 06: r9 H; r35, r2, r272, r30 and all power rows N/A.
    pollination = entry(dashboard, "dependencies", "ecosystem_service", "Pollination")
    assert pollination["exposure_by_rating"] == {
        "VH": 0.0,
        "H": 100.0,
        "M": 0.0,
        "L": 0.0,
        "VL": 0.0,
        "ND": 0.0,
        "N/A": 190.0,
    }
    assert pollination["share_high_or_very_high"] == pytest.approx(100 / 290)
    assert pollination["max_rating"] == "H"
    assert pollination["mean_score"] == pytest.approx(4.0)


def test_ghg_by_rating(dashboard):
    # Emissions of GHG in 07: r9 M, r122 ND, r22 H, r272 VL, r105 M; power
    # rows r115 H, r117 M, r118 L, r119 VH, r120 VL, r121 VL, r122 ND,
    # r124 N/A, r272 VL, so D_35_351 is VH.
    ghg = entry(dashboard, "pressures", "pressure", "Emissions of GHG")
    assert ghg["exposure_by_rating"] == {
        "VH": 60.0,
        "H": 30.0,
        "M": 140.0,
        "L": 0.0,
        "VL": 10.0,
        "ND": 50.0,
        "N/A": 0.0,
    }
    assert ghg["share_high_or_very_high"] == pytest.approx(90 / 290)
    assert ghg["max_rating"] == "VH"
    # ND is not rated: (60*5 + 30*4 + 140*3 + 10*1) / (60 + 30 + 140 + 10)
    assert ghg["mean_score"] == pytest.approx(850 / 240)


def test_land_use_by_rating(dashboard):
    # Area of land use in 07: r9 H, r122 L, r22 VH, r272 M, r105 L; power
    # rows H, L, M, M, L, M, L, H, M, so D_35_351 is H.
    land = entry(dashboard, "pressures", "pressure", "Area of land use")
    assert land["exposure_by_rating"] == {
        "VH": 30.0,
        "H": 160.0,
        "M": 10.0,
        "L": 90.0,
        "VL": 0.0,
        "ND": 0.0,
        "N/A": 0.0,
    }
    assert land["share_high_or_very_high"] == pytest.approx(190 / 290)
    assert land["mean_score"] == pytest.approx(1000 / 290)


def test_headline(dashboard):
    # Some service is H or VH in 06 r9, r35, r2, r30 and the power rows, but
    # not in r272: (290 - 10) / 290. Some pressure is H or VH in 07 r9, r22,
    # r105 and the power rows, not in r122 (solar) nor r272: (290 - 60) / 290.
    assert dashboard["headline"]["share_high_dependency"] == pytest.approx(280 / 290)
    assert dashboard["headline"]["share_high_pressure"] == pytest.approx(230 / 290)


def test_rating_amounts_sum_to_matched(dashboard):
    for section in ("dependencies", "pressures"):
        for item in dashboard[section]:
            total = sum(item["exposure_by_rating"].values())
            assert total == pytest.approx(290.0)


def test_columns_in_release_order(kb, dashboard):
    services = [item["ecosystem_service"] for item in dashboard["dependencies"]]
    assert services == [service.name for service in kb.ecosystem_services]
    assert len(dashboard["pressures"]) == 13


def test_unmatched_rows(dashboard):
    assert dashboard["unmatched"] == [
        {
            "row": 5,
            "field": "code",
            "reason": "unrecognised_code",
            "message": "The activity code is not in a supported format.",
            "resolution": 3,
        }
    ]


def test_unmatched_counted(dashboard):
    assert dashboard["unmatched_count"] == 1
    assert dashboard["unmatched_truncated"] is False


def test_unmatched_list_capped(kb):
    codes = ["0111", "x1", "x2", "0141", "x3"]
    result = build_dashboard(holdings(codes, [1.0] * 5), kb, max_unmatched=2)
    assert [entry["row"] for entry in result["unmatched"]] == [3, 4]
    assert result["unmatched_count"] == 3
    assert result["unmatched_truncated"] is True
    assert result["totals"]["matched_holdings"] == 2


def test_unmatched_cap_of_zero(kb):
    result = build_dashboard(holdings(["x1", "x2"], [1.0, 2.0]), kb, max_unmatched=0)
    assert result["unmatched"] == []
    assert result["unmatched_count"] == 2
    assert result["unmatched_truncated"] is True


def test_alike_codes_share_a_resolution(kb):
    codes = ["x1", "0111", "x2", "A0111", "x3"]
    result = build_dashboard(holdings(codes, [1.0] * 5), kb)
    resolution = result["holdings"]["resolution"]
    assert resolution[0] == resolution[2] == resolution[4]
    assert resolution[0] != resolution[1]
    assert result["resolutions"][resolution[0]] == {
        "status": "unmatched",
        "reason": "unrecognised_code",
    }
    assert [entry["resolution"] for entry in result["unmatched"]] == [0, 0, 0]


def test_resolutions_omit_reason_text(dashboard):
    assert dashboard["resolutions"][3] == {
        "status": "unmatched",
        "reason": "unrecognised_code",
    }


def test_unmatched_never_echoes_input(dashboard):
    assert "not a code" not in json.dumps(dashboard)
    assert "Holding 3" not in json.dumps(dashboard)


def test_per_holding_resolutions(dashboard):
    assert dashboard["holdings"]["row"] == [2, 3, 4, 5, 6, 7, 8]
    assert dashboard["holdings"]["resolution"] == [0, 1, 2, 3, 4, 5, 6]
    resolutions = dashboard["resolutions"]
    assert resolutions[0]["method"] == "encore_class"
    assert resolutions[2]["method"] == "isic_class"
    assert resolutions[5]["activities"] == ["C_10_101_1010"]
    assert resolutions[3]["status"] == "unmatched"


def test_max_over_activities_flagged(dashboard):
    power = dashboard["resolutions"][6]
    assert len(power["activities"]) == 9
    assert power["rating_is_max_over_activities"] is True
    assert dashboard["resolutions"][0]["rating_is_max_over_activities"] is False


def test_repeated_codes_share_a_resolution(kb):
    result = build_dashboard(holdings(["0111", "0141", "0111"], [1, 2, 3]), kb)
    assert result["holdings"]["resolution"] == [0, 1, 0]
    assert len(result["resolutions"]) == 2


def test_heatmap_rows(dashboard):
    # D_35_351 splits its 60 over nine rows: 60/9 each.
    heatmap = dashboard["heatmaps"]["dependencies"]
    rows = {row["activity_id"]: row for row in heatmap["rows"]}
    assert len(rows) == 12
    assert rows["A_1_11_111"]["exposure"] == pytest.approx(100.0)
    assert rows["D_35_351:solar-energy-production"]["exposure"] == pytest.approx(
        50 + 60 / 9
    )
    assert rows["D_35_351:solar-energy-production"]["holdings"] == 2
    assert rows[TRANSMISSION]["exposure"] == pytest.approx(10 + 60 / 9)
    assert sum(row["exposure"] for row in heatmap["rows"]) == pytest.approx(290.0)


def test_heatmap_cells_are_activity_ratings(dashboard):
    heatmap = dashboard["heatmaps"]["dependencies"]
    first = heatmap["rows"][0]
    water = heatmap["columns"].index("Water supply")
    assert first["activity_id"] == "A_1_11_111"
    # 06 r9: Water supply H, Pollination H.
    assert first["ratings"][water] == "H"
    assert first["ratings"][heatmap["columns"].index("Pollination")] == "H"


def test_pressure_heatmap(dashboard):
    heatmap = dashboard["heatmaps"]["pressures"]
    rows = {row["activity_id"]: row for row in heatmap["rows"]}
    ghg = heatmap["columns"].index("Emissions of GHG")
    # 07 r119: fossil fuels GHG VH; 07 r124: wind GHG N/A.
    assert rows["D_35_351:fossil-fuels-energy-production"]["ratings"][ghg] == "VH"
    assert rows["D_35_351:wind-energy-production"]["ratings"][ghg] == "N/A"


def test_exclude_water_supply(kb):
    result = build_dashboard(
        holdings(), kb, DashboardOptions(exclude_water_supply=True)
    )
    services = [item["ecosystem_service"] for item in result["dependencies"]]
    assert "Water supply" not in services
    assert len(services) == 24
    assert "Water supply" not in result["heatmaps"]["dependencies"]["columns"]
    assert result["options"]["exclude_water_supply"] is True
    # 06 r30 (meat) is still high on Water purification; r272 still is not.
    assert result["headline"]["share_high_dependency"] == pytest.approx(280 / 290)


def test_water_supply_note_cited(dashboard):
    note = dashboard["options"]["water_supply_note"]
    assert note == {"number": "1", "subject": "Water supply ecosystem service"}


def test_equal_weights_without_amounts(kb):
    # Each holding counts 1: four matched of five. Water supply (06): r9 H,
    # r2 H, r35 M, r272 VL.
    codes = [
        "A_1_11_111",
        "0141",
        "D_35_351:solar-energy-production",
        TRANSMISSION,
        "9999",
    ]
    result = build_dashboard(holdings(codes, None, None), kb)
    assert result["weighting"] == "equal"
    assert result["currency"] is None
    assert result["totals"]["exposure"] == 5.0
    assert result["totals"]["matched_exposure"] == 4.0
    water = entry(result, "dependencies", "ecosystem_service", "Water supply")
    assert water["exposure_by_rating"]["H"] == 2.0
    assert water["share_high_or_very_high"] == pytest.approx(0.5)
    # (4 + 4 + 3 + 1) / 4
    assert water["mean_score"] == pytest.approx(3.0)


def test_mean_score_null_without_rated(kb):
    # Pollination is N/A for 06 r272, the only holding.
    result = build_dashboard(holdings([TRANSMISSION], [5.0]), kb)
    pollination = entry(result, "dependencies", "ecosystem_service", "Pollination")
    assert pollination["mean_score"] is None
    assert pollination["max_rating"] == "N/A"


def test_nothing_matched(kb):
    result = build_dashboard(holdings(["x", "y"], [1.0, 2.0]), kb)
    assert result["totals"]["matched_exposure"] == 0.0
    assert result["headline"]["share_high_dependency"] is None
    water = entry(result, "dependencies", "ecosystem_service", "Water supply")
    assert water["max_rating"] is None
    assert water["share_high_or_very_high"] is None
    assert result["heatmaps"]["dependencies"]["rows"] == []
    assert len(result["unmatched"]) == 2


def test_ambiguous_holding_unmatched(kb):
    result = build_dashboard(holdings(["141"], [1.0]), kb)
    assert result["unmatched"][0]["reason"] == "ambiguous_code"
    readings = result["resolutions"][0]["readings"]
    assert {reading["code"] for reading in readings} == {"141", "0141"}


def test_negative_amount_rejected(kb):
    with pytest.raises(InputError) as caught:
        build_dashboard(holdings(["0111", "0141"], [1.0, -2.0]), kb)
    assert caught.value.problems[0].row == 3
    assert caught.value.problems[0].field == "amount"


def test_release_carried(kb, dashboard):
    assert dashboard["release"]["name"] == kb.release.name
    assert dashboard["release"]["files"] == kb.release.files
    assert "CC BY-SA 4.0" in dashboard["release"]["attribution"]


def test_json_ready(dashboard):
    assert json.loads(json.dumps(dashboard, allow_nan=False)) == dashboard


def test_options_from_dict():
    assert DashboardOptions.from_dict({"exclude_water_supply": True}) == (
        DashboardOptions(exclude_water_supply=True)
    )
    assert DashboardOptions.from_dict(None) == DashboardOptions()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"exclude_water_supply": "yes"}, "options.exclude_water_supply"),
        ({"secret": True}, "options"),
    ],
)
def test_options_from_dict_invalid(options, field):
    with pytest.raises(InputError) as caught:
        DashboardOptions.from_dict(options)
    assert caught.value.problems[0].field == field
    assert "secret" not in caught.value.message


def test_csv_and_json_give_same_figures(kb):
    csv_body = (
        b"name,code,amount\r\n"
        b"Farm,0111,100\r\n"
        b"Solar,D_35_351:solar-energy-production,50\r\n"
        b"Unknown,not a code,20\r\n"
    )
    json_body = json.dumps(
        {
            "holdings": [
                {"name": "Farm", "code": "0111", "amount": 100},
                {
                    "name": "Solar",
                    "code": "D_35_351:solar-energy-production",
                    "amount": 50,
                },
                {"name": "Unknown", "code": "not a code", "amount": 20},
            ]
        }
    ).encode()
    from_csv = build_dashboard(parse_holdings(csv_body, "text/csv", InputLimits()), kb)
    from_json = build_dashboard(
        parse_holdings(json_body, "application/json", InputLimits()), kb
    )
    for key in ("totals", "headline", "dependencies", "pressures", "heatmaps"):
        assert from_csv[key] == from_json[key]
    assert from_csv["totals"]["matched_exposure"] == 150.0


def test_parsed_factorisation_changes_nothing(kb):
    # Raw codes that clean to the same code, blank rows and a shared outcome.
    csv_body = (
        b"code,amount\r\n"
        b" 0111,1\r\n"
        b"x1,2\r\n"
        b",\r\n"
        b"0111,3\r\n"
        b'="0141",4\r\n'
        b"x2,5\r\n"
        b"141,6\r\n"
    )
    parsed = parse_holdings(csv_body, "text/csv", InputLimits())
    assert parsed.code_positions is not None
    plain = replace(parsed, code_positions=None, distinct_codes=None)
    assert build_dashboard(parsed, kb) == build_dashboard(plain, kb)
    result = build_dashboard(parsed, kb)
    assert result["holdings"]["resolution"] == [0, 1, 0, 2, 1, 3]
    assert len(result["resolutions"]) == 4


CODE_POOL = [
    "A_1_11_111",
    "D_35_351",
    TRANSMISSION,
    "0141",
    "141",
    "111.0",
    "01.11",
    "35.11",
    "A",
    "C_10_101",
    "Production of electricity by wind",
    "not a code",
    "",
]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(CODE_POOL) | st.text(max_size=12),
            st.floats(min_value=0, max_value=1e9),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_dashboard_invariants(kb, picks):
    codes = [code for code, _ in picks]
    amounts = [amount for _, amount in picks]
    result = build_dashboard(holdings(codes, amounts), kb)
    matched = result["totals"]["matched_exposure"]
    assert result["totals"]["matched_holdings"] + len(result["unmatched"]) == len(codes)
    for section in ("dependencies", "pressures"):
        for item in result[section]:
            total = sum(item["exposure_by_rating"].values())
            assert total == pytest.approx(matched, rel=1e-9, abs=1e-6)
    rows = result["heatmaps"]["dependencies"]["rows"]
    assert sum(row["exposure"] for row in rows) == pytest.approx(
        matched, rel=1e-9, abs=1e-6
    )
    assert json.dumps(result, allow_nan=False)


@pytest.mark.parametrize(
    "key", ["exclude_water_supply", "Exclude Water Supply", "exclude-water-supply"]
)
def test_option_key_written_another_way(key):
    options = DashboardOptions.from_request({key: True})

    assert options.exclude_water_supply is True


def test_option_key_given_twice_rejected():
    options = {"Exclude Water Supply": True, "exclude_water_supply": False}

    with pytest.raises(InputError) as raised:
        DashboardOptions.from_request(options)

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"field": "options.exclude_water_supply", "reason": "given twice"}
    ]
