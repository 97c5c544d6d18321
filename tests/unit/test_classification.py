"""Resolving activity codes in every supported form, alone and with a column."""

from __future__ import annotations

import shutil

import pytest
from nature_risk.classification import Classifier
from nature_risk.knowledge_base import load_knowledge_base

POWER = "D_35_351:"
GENERATION = [
    POWER + "fossil-fuels-energy-production",
    POWER + "nuclear-power-production",
    POWER + "hydropower-energy-production",
    POWER + "geothermal-energy-production",
    POWER + "solar-energy-production",
    POWER + "wind-energy-production",
    POWER + "biomass-energy-production",
    POWER + "ocean-energy-production",
]
ALL_POWER = [*GENERATION, POWER + "transmission-and-distribution-of-electricity"]
GROWING_NON_PERENNIAL = [
    "A_1_11_111",
    "A_1_11_112",
    "A_1_11_113",
    "A_1_11_114",
    "A_1_11_115",
    "A_1_11_116",
    "A_1_11_119",
]


@pytest.fixture(scope="module", params=["top", "sept"])
def kb(request, encore_dir, encore_sept_2025_dir):
    folder = encore_dir if request.param == "top" else encore_sept_2025_dir
    return load_knowledge_base(folder)


@pytest.fixture(scope="module")
def classifier(kb):
    return Classifier(kb)


def ids(kb, resolution):
    return sorted(kb.activities[i].activity_id for i in resolution.activities)


# code, method, canonical code, activity ids
SINGLE_CODES = [
    ("A_1_11_111", "encore_class", "A_1_11_111", ["A_1_11_111"]),
    ("a_1_11_111", "encore_class", "A_1_11_111", ["A_1_11_111"]),
    ("A_01_011_0111", "encore_class", "A_1_11_111", ["A_1_11_111"]),
    ("D_35_351", "encore_group", "D_35_351", ALL_POWER),
    (
        POWER + "solar-energy-production",
        "encore_activity",
        POWER + "solar-energy-production",
        [POWER + "solar-energy-production"],
    ),
    ("C_10_101", "encore_group", "C_10_101", ["C_10_101_1010"]),
    ("C_10_101_1010", "encore_class", "C_10_101_1010", ["C_10_101_1010"]),
    ("J_63_631_6311", "encore_class", "J_63_631_6311", ["J_63_631"]),
    ("A_1_11", "encore_group", "A_1_11", GROWING_NON_PERENNIAL),
    ("A", "isic_section", "A", None),
    ("01", "isic_division", "01", None),
    ("A01", "isic_division", "01", None),
    ("1", "isic_division", "01", None),
    ("011", "isic_group", "011", GROWING_NON_PERENNIAL),
    ("A011", "isic_group", "011", GROWING_NON_PERENNIAL),
    ("0111", "isic_class", "0111", ["A_1_11_111"]),
    ("A0111", "isic_class", "0111", ["A_1_11_111"]),
    ("111", "isic_class", "0111", ["A_1_11_111"]),
    ("111.0", "isic_class", "0111", ["A_1_11_111"]),
    ("111,0", "isic_class", "0111", ["A_1_11_111"]),
    (" 0111\u00a0", "isic_class", "0111", ["A_1_11_111"]),
    ("A141", "isic_class", "0141", ["A_1_14_141"]),
    ("C141", "isic_group", "141", ["C_14_141"]),
    ("6311", "isic_class", "6311", ["J_63_631"]),
    ("3510", "isic_class", "3510", ALL_POWER),
    ("1010", "isic_class", "1010", ["C_10_101_1010"]),
    ("01.11", "nace_class", "01.11", ["A_1_11_111"]),
    ("A01.11", "nace_class", "01.11", ["A_1_11_111"]),
    ("1.11", "nace_class", "01.11", ["A_1_11_111"]),
    ("1,11", "nace_class", "01.11", ["A_1_11_111"]),
    ("A1,11", "nace_class", "01.11", ["A_1_11_111"]),
    ("35.11", "nace_class", "35.11", GENERATION),
    ("35.12", "nace_class", "35.12", [ALL_POWER[8]]),
    ("99.00", "nace_class", "99.00", ["U_99_990"]),
    (
        "Other business activities (74)",
        "exiobase_sector",
        "Other business activities (74)",
        None,
    ),
    (
        "production of electricity by wind",
        "exiobase_sector",
        "Production of electricity by wind",
        [POWER + "wind-energy-production"],
    ),
    (
        "Incineration of waste: Food",
        "exiobase_sector",
        "Incineration of waste: Food",
        None,
    ),
    ("10101010", "gics_sub_industry", "10101010", ["B_9_91"]),
    ("10101010.0", "gics_sub_industry", "10101010", ["B_9_91"]),
    ("10101010,0", "gics_sub_industry", "10101010", ["B_9_91"]),
]


@pytest.mark.parametrize(("code", "method", "canonical", "expected"), SINGLE_CODES)
def test_code_forms(kb, classifier, code, method, canonical, expected):
    resolution = classifier.resolve(code)
    assert resolution.status == "matched"
    assert resolution.method == method
    assert resolution.code == canonical
    if expected is not None:
        assert ids(kb, resolution) == sorted(expected)


def test_section_covers_every_activity(kb, classifier):
    resolution = classifier.resolve("A")
    assert len(resolution.activities) == sum(
        1 for activity in kb.activities if activity.section_code == "A"
    )


def test_division_covers_its_groups(kb, classifier):
    resolution = classifier.resolve("01")
    assert len(resolution.activities) == sum(
        1 for activity in kb.activities if activity.division_code == "01"
    )


def test_zero_restored_flag(classifier):
    assert classifier.resolve("111").zeros_restored is True
    assert classifier.resolve("0111").zeros_restored is False


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "missing_code"),
        ("   ", "missing_code"),
        ("not a code", "unrecognised_code"),
        ("A_1_12_111", "unrecognised_code"),  # class does not start with group
        ("D_35_351:tidal", "not_in_knowledge_base"),
        ("9999", "not_in_knowledge_base"),
        ("B0111", "not_in_knowledge_base"),  # class 0111 is in section A
        ("12345678", "not_in_knowledge_base"),
        ("00.00", "not_in_knowledge_base"),
    ],
)
def test_unmatched_reasons(classifier, code, reason):
    resolution = classifier.resolve(code)
    assert resolution.status == "unmatched"
    assert resolution.reason == reason


def test_stripped_group_ambiguous(classifier):
    resolution = classifier.resolve("141")
    assert resolution.status == "ambiguous"
    assert resolution.reason == "ambiguous_code"
    readings = {(r.scheme, r.level, r.code) for r in resolution.readings}
    assert readings == {("isic", "group", "141"), ("isic", "class", "0141")}


def test_two_digit_code_ambiguous(classifier):
    resolution = classifier.resolve("11")
    readings = {(r.level, r.code) for r in resolution.readings}
    assert resolution.status == "ambiguous"
    assert readings == {("division", "11"), ("group", "011")}


def test_column_with_zeros_reads_as_written(kb, classifier):
    results = classifier.resolve_column(["0111", "141", "0141"])
    assert results["141"].status == "matched"
    assert results["141"].method == "isic_group"
    assert results["141"].decided_by == "column_zeros_kept"
    assert ids(kb, results["141"]) == ["C_14_141"]


def test_column_at_class_level_stays_ambiguous(classifier):
    # Classes such as 1010 have no leading zero to lose, so they do not show
    # whether 141 lost one.
    results = classifier.resolve_column(["1010", "2011", "141", "141"])
    assert results["141"].status == "ambiguous"


def test_column_group_beside_division_stays_ambiguous(classifier):
    # 52 may be division 52 or group 052; the group 521 lost no zero.
    results = classifier.resolve_column(["52", "521"])
    assert results["52"].status == "ambiguous"


def test_column_of_classes_with_lost_zero(kb, classifier):
    # "112" can only be class 0112 without its zero: the column lost zeros.
    results = classifier.resolve_column(["1010", "112", "141"])
    assert results["141"].method == "isic_class"
    assert results["141"].decided_by == "column_zeros_lost"
    assert ids(kb, results["141"]) == ["A_1_14_141"]


def test_column_mixed_levels_stays_ambiguous(classifier):
    results = classifier.resolve_column(["1010", "C14", "141"])
    assert results["141"].status == "ambiguous"


def test_column_of_stripped_classes(kb, classifier):
    # "111" can only be class 0111 without its zero, so the column is classes.
    results = classifier.resolve_column(["111", "141"])
    assert results["141"].method == "isic_class"
    assert results["141"].decided_by == "column_zeros_lost"
    assert ids(kb, results["141"]) == ["A_1_14_141"]


def test_column_mixed_evidence_stays_ambiguous(classifier):
    # "A01" keeps a zero and "111" lost one; the levels differ too.
    results = classifier.resolve_column(["111", "141", "A01"])
    assert results["111"].method == "isic_class"
    assert results["141"].status == "ambiguous"


def test_same_activities_not_ambiguous(kb, classifier):
    # NACE group 69.2 holds only class 69.20, so both readings agree.
    resolution = classifier.resolve("69.2")
    assert resolution.status == "matched"
    assert resolution.decided_by == "same_activities"
    assert ids(kb, resolution) == ["M_69_692"]


def test_resolve_column_keys_every_distinct_code(classifier):
    results = classifier.resolve_column(["0111", "0111", "x", "A"])
    assert list(results) == ["0111", "x", "A"]


def test_resolution_dict_hides_raw_code(kb, classifier):
    result = classifier.resolve("not a code").to_dict(kb)
    assert result == {
        "status": "unmatched",
        "reason": "unrecognised_code",
        "message": "The activity code is not in a supported format.",
    }


def test_ambiguous_dict_lists_readings(kb, classifier):
    result = classifier.resolve("141").to_dict(kb)
    assert result["status"] == "ambiguous"
    assert {r["code"] for r in result["readings"]} == {"141", "0141"}


def test_matched_dict_lists_activity_ids(kb, classifier):
    result = classifier.resolve("35.12").to_dict(kb)
    assert result["activities"] == [ALL_POWER[8]]
    assert result["method"] == "nace_class"


@pytest.mark.parametrize("code", ["01.1", "A01.1"])
def test_nace_group(kb, classifier, code):
    resolution = classifier.resolve(code)
    assert resolution.method == "nace_group"
    assert resolution.code == "01.1"
    assert ids(kb, resolution) == GROWING_NON_PERENNIAL


@pytest.fixture(scope="module")
def classifier_without_crosswalks(tmp_path_factory, encore_dir):
    folder = tmp_path_factory.mktemp("release") / "release"
    shutil.copytree(encore_dir / "ENCORE files", folder / "ENCORE files")
    (folder / "ENCORE files").chmod(0o755)
    return Classifier(load_knowledge_base(folder))


@pytest.mark.parametrize(
    "code", ["01.11", "30202010", "Production of electricity by wind"]
)
def test_codes_need_crosswalk(classifier_without_crosswalks, code):
    resolution = classifier_without_crosswalks.resolve(code)
    assert resolution.status == "unmatched"
    assert resolution.reason == "no_crosswalk"


def test_isic_without_crosswalk(classifier_without_crosswalks):
    # Without the crosswalk's class list, a class is valid when its group is.
    resolution = classifier_without_crosswalks.resolve("4610")
    assert resolution.method == "isic_class"
    assert resolution.activities
