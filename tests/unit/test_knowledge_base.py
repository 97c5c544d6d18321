"""Loading ENCORE releases: both real releases, and broken copies that must fail."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from nature_risk import knowledge_base
from nature_risk.encore_files import SourceFile, decode_csv
from nature_risk.knowledge_base import (
    RATINGS,
    KnowledgeBaseError,
    get_knowledge_base,
    load_knowledge_base,
)

from tests.unit.encore_support import (
    DEPENDENCY_FILE,
    PRESSURE_FILE,
    copy_release,
    edit_csv,
)

CROSSWALK_FILE = (
    "Crosswalk tables/EXIOBASE - NACE Rev. 2 - ISIC Rev. 4 - ISIC Rev. 5.csv"
)

POWER_IDS = [
    "D_35_351:fossil-fuels-energy-production",
    "D_35_351:nuclear-power-production",
    "D_35_351:hydropower-energy-production",
    "D_35_351:geothermal-energy-production",
    "D_35_351:solar-energy-production",
    "D_35_351:wind-energy-production",
    "D_35_351:biomass-energy-production",
    "D_35_351:ocean-energy-production",
    "D_35_351:transmission-and-distribution-of-electricity",
]


@pytest.fixture(scope="module")
def kb(encore_dir):
    return load_knowledge_base(encore_dir)


@pytest.fixture(scope="module")
def kb_sept(encore_sept_2025_dir):
    return load_knowledge_base(encore_sept_2025_dir)


def rating(kb, activity_id, column, pressures=False):
    names = (
        [p.name for p in kb.pressures]
        if pressures
        else [s.name for s in kb.ecosystem_services]
    )
    matrix = kb.pressure_ratings if pressures else kb.dependency_ratings
    return RATINGS[matrix[kb.activity_index[activity_id], names.index(column)]]


def counts(matrix):
    values, number = np.unique(matrix, return_counts=True)
    return {RATINGS[v]: int(n) for v, n in zip(values, number, strict=True)}


# --- the two real releases ----------------------------------------------------


@pytest.mark.parametrize("fixture", ["kb", "kb_sept"])
def test_release_shapes(request, fixture):
    loaded = request.getfixturevalue(fixture)
    assert len(loaded.activities) == 271
    assert len(loaded.ecosystem_services) == 25
    assert len(loaded.pressures) == 13
    assert loaded.dependency_ratings.shape == (271, 25)
    assert loaded.pressure_ratings.shape == (271, 13)
    assert loaded.dependency_ratings.dtype == np.int8


def test_dependency_rating_counts(kb):
    # Vocabulary counts of the 6775 cells of file 06, N/A kept apart from ND.
    assert counts(kb.dependency_ratings) == {
        "VH": 346,
        "H": 226,
        "M": 856,
        "L": 700,
        "VL": 1258,
        "ND": 363,
        "N/A": 3026,
    }


def test_pressure_rating_counts(kb):
    # File 07 (top level): 1243 'N/A' plus the one 'N/A  ' with trailing spaces.
    assert counts(kb.pressure_ratings) == {
        "VH": 90,
        "H": 271,
        "M": 653,
        "L": 723,
        "VL": 382,
        "ND": 160,
        "N/A": 1244,
    }


def test_na_with_trailing_spaces(kb):
    # File 07, H_52_522_5229, 'Disturbances (e.g noise, light)' is 'N/A  '.
    assert rating(kb, "H_52_522_5229", "Disturbances (e.g noise, light)", True) == "N/A"


def test_power_rows_selectable(kb):
    ids = [a.activity_id for a in kb.activities if a.isic_unique_code == "D_35_351"]
    assert ids == POWER_IDS


def test_power_row_names_stripped(kb):
    fossil = kb.activity("D_35_351:fossil-fuels-energy-production")
    assert fossil.class_name == "Fossil fuels energy production"
    assert fossil.level == "class"
    assert fossil.class_code is None


def test_pressures_joined_by_name(kb):
    # 07 row 119: fossil fuels (no trailing space there), Emissions of GHG = VH.
    assert rating(kb, POWER_IDS[0], "Emissions of GHG", True) == "VH"
    # 07 row 122: solar energy, Emissions of GHG = ND.
    assert rating(kb, POWER_IDS[4], "Emissions of GHG", True) == "ND"


def test_food_class_joined_to_group(kb):
    # 06 codes C_10_101_1010; 07 row 105 codes it C_10_101: GHG M, land use L.
    assert rating(kb, "C_10_101_1010", "Emissions of GHG", True) == "M"
    assert rating(kb, "C_10_101_1010", "Area of land use", True) == "L"


@pytest.mark.parametrize(
    ("activity_id", "nutrients"),
    [
        # 07 rows 105, 103, 104, 102 code these C_10_101 .. C_10_104.
        ("C_10_101_1010", "VH"),
        ("C_10_102_1020", "VH"),
        ("C_10_103_1030", "ND"),
        ("C_10_104_1040", "H"),
    ],
)
def test_food_classes_all_joined(kb, activity_id, nutrients):
    column = "Emissions of nutrient soil and water pollutants"
    assert kb.activity(activity_id).level == "class"
    assert rating(kb, activity_id, column, True) == nutrients


def test_activity_codes_padded(kb):
    cereals = kb.activity("A_1_11_111")
    assert cereals.division_code == "01"
    assert cereals.group_code == "011"
    assert cereals.class_code == "0111"
    assert (
        cereals.name
        == "Growing of cereals (except rice), leguminous crops and oil seeds"
    )


def test_group_row_has_no_class(kb):
    seabed = kb.activity("J_63_631")
    assert seabed.level == "group"
    assert seabed.class_code is None
    assert seabed.class_name is None


def test_releases_differ_in_one_rating(kb, kb_sept):
    # 07, J_63_631 'Area of seabed use': Sept 2025 VL, top level L.
    assert rating(kb_sept, "J_63_631", "Area of seabed use", True) == "VL"
    assert rating(kb, "J_63_631", "Area of seabed use", True) == "L"


def test_service_names_cleaned(kb):
    names = [service.name for service in kb.ecosystem_services]
    assert names[14] == "Noise attenuation"
    assert names[12] == "Water supply"
    assert all(name == name.strip() for name in names)


def test_service_definitions(kb):
    water = kb.ecosystem_services[kb.service_index("Water supply")]
    assert water.definition.startswith("Water supply services reflect")
    assert water.category == "Provisioning services"


def test_service_sub_services(kb):
    biomass = kb.ecosystem_services[kb.service_index("Biomass provisioning")]
    assert biomass.definition is None
    assert len(biomass.sub_services) == 7
    assert biomass.sub_services[0].name == "Crop provisioning services"
    assert biomass.sub_services[6].name == (
        "Wild animals, plants and other biomass provisioning services"
    )


def test_sub_service_without_definition(kb):
    water = kb.ecosystem_services[kb.service_index("Water purification")]
    names = {sub.name: sub.definition for sub in water.sub_services}
    assert names["Retention and breakdown of other pollutants"] is None


@pytest.mark.parametrize("fixture", ["kb", "kb_sept"])
def test_level1_definition_beside_sub_service(request, fixture):
    # Row 23 of the services file fills Level 1, Level 2 and a definition
    # that opens with the Level-1 name.
    loaded = request.getfixturevalue(fixture)
    water = loaded.ecosystem_services[loaded.service_index("Water purification")]
    definitions = {sub.name: sub.definition for sub in water.sub_services}
    assert water.definition.startswith("Water purification services are")
    assert definitions["Retention and breakdown of nutrients"] is None


@pytest.mark.parametrize("fixture", ["kb", "kb_sept"])
@pytest.mark.parametrize(
    ("service", "first_sub_service"),
    [
        ("Biomass provisioning", "Crop provisioning services"),
        ("Soil and sediment retention", "Soil erosion control services"),
        ("Water flow regulation", "Baseline flow maintenance services"),
        ("Flood mitigation services", "Coastal protection services"),
        ("Biological control", "Pest control services"),
    ],
)
def test_level2_definition_beside_level1(request, fixture, service, first_sub_service):
    loaded = request.getfixturevalue(fixture)
    rated = loaded.ecosystem_services[loaded.service_index(service)]
    first = rated.sub_services[0]
    assert rated.definition is None
    assert first.name == first_sub_service
    assert first.definition.startswith(f"{first_sub_service} are")


def test_pressure_definitions_reworded(kb):
    by_name = {pressure.name: pressure.definition for pressure in kb.pressures}
    toxic = by_name["Emissions of toxic soil and water pollutants"]
    assert toxic.startswith("Activity emits toxic pollutants")
    assert all(by_name.values())


def test_water_supply_note(kb):
    note = kb.water_supply_note
    assert note.number == "1"
    assert note.subject == "Water supply ecosystem service"
    assert "excluding the water supply ecosystem service" in note.text


def test_release_name_from_overview(kb_sept):
    assert kb_sept.release.version == "September 2025"
    assert kb_sept.release.name_source == "overview"
    assert "September 2025" in kb_sept.release.attribution


def test_release_name_not_stated(kb):
    assert kb.release.version is None
    assert kb.release.name_source == "none"
    assert kb.release.name == "ENCORE knowledge base (version not stated)"


def test_release_name_configured(encore_dir):
    loaded = load_knowledge_base(encore_dir, release_name="May 2026")
    assert loaded.release.name == "May 2026"
    assert loaded.release.name_source == "configured"
    assert "May 2026" in loaded.release.attribution


def test_attribution_names_licence(kb):
    attribution = kb.release.attribution
    assert "ENCORE Partners (Global Canopy, UNEP FI, and UNEP-WCMC)" in attribution
    assert "CC BY-SA 4.0" in attribution
    assert "https://doi.org/10.34892/dz3x-y059" in attribution


def test_file_hashes(kb, encore_dir):
    files = kb.release.files
    assert set(files) == {
        "ENCORE files/02. Ecosystem services definitions.csv",
        "ENCORE files/04. Pressure definitions.csv",
        DEPENDENCY_FILE,
        PRESSURE_FILE,
        "ENCORE files/17. Explanatory notes.csv",
        CROSSWALK_FILE,
        "Crosswalk tables/GICS - ENCORE production processes - ISIC .xlsx",
    }
    for relative, digest in files.items():
        assert (
            hashlib.sha256((encore_dir / relative).read_bytes()).hexdigest() == digest
        )


def test_sept_files_found_by_name(kb_sept):
    files = kb_sept.release.files
    assert "ENCORE files/18. Explanatory notes.csv" in files
    assert "Crosswalk tables/EXIOBASE NACE ISIC crosswalk.csv" in files
    assert "ENCORE files/14. EXIOBASE NACE ISIC crosswalk.csv" not in files
    assert "ENCORE files/17. Downstream links.csv" not in files


@pytest.mark.parametrize("fixture", ["kb", "kb_sept"])
def test_nace_crosswalk_power(request, fixture):
    loaded = request.getfixturevalue(fixture)

    def ids(code):
        return [loaded.activities[i].activity_id for i in loaded.crosswalks.nace[code]]

    # NACE 35.11 (production of electricity): the eight generation rows.
    assert ids("35.11") == POWER_IDS[:8]
    assert ids("35.12") == [POWER_IDS[8]]


def test_nace_codes_repadded(kb):
    # The top-level crosswalk writes 01.44 as 1.44 and 69.20 as 69.2.
    assert "01.44" in kb.crosswalks.nace
    assert "69.20" in kb.crosswalks.nace
    assert "1.44" not in kb.crosswalks.nace


def test_exiobase_names_pick_power_row(kb):
    _, positions = kb.crosswalks.exiobase["production of electricity by wind"]
    assert [kb.activities[i].activity_id for i in positions] == [POWER_IDS[5]]


def test_gics_loaded_on_first_use(encore_dir):
    loaded = load_knowledge_base(encore_dir)
    assert loaded.crosswalks._gics is None
    gics = loaded.crosswalks.gics()
    assert len(gics) == 155
    assert [loaded.activities[i].activity_id for i in gics["10101010"]] == ["B_9_91"]


def test_get_knowledge_base_from_env(monkeypatch, encore_sept_2025_dir):
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_sept_2025_dir))
    monkeypatch.delenv("ENCORE_RELEASE_NAME", raising=False)
    get_knowledge_base.cache_clear()
    try:
        loaded = get_knowledge_base()
        assert loaded.release.version == "September 2025"
        assert get_knowledge_base() is loaded
    finally:
        get_knowledge_base.cache_clear()


# --- broken copies -------------------------------------------------------------


@pytest.fixture
def release_copy(tmp_path, encore_dir):
    """A writable copy of the top-level release (its two folders only)."""
    return copy_release(encore_dir, tmp_path / "release")


def load_error(folder) -> KnowledgeBaseError:
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(folder)
    return caught.value


def test_copy_loads(release_copy):
    assert len(load_knowledge_base(release_copy).activities) == 271


def test_invalid_rating_named(release_copy):
    def edit(records):
        records[2][7] = "High"  # data row 3, 'Biomass provisioning'

    edit_csv(release_copy / DEPENDENCY_FILE, edit)
    error = load_error(release_copy)
    assert error.file == DEPENDENCY_FILE
    assert error.row == 3
    assert error.column == "Biomass provisioning"


def test_invalid_code_named(release_copy):
    def edit(records):
        records[4][0] = "A-1-14"

    edit_csv(release_copy / DEPENDENCY_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row, error.column) == (
        DEPENDENCY_FILE,
        5,
        "ISIC Unique code",
    )


def test_missing_column_named(release_copy):
    def edit(records):
        records[0][3] = "Group"

    edit_csv(release_copy / PRESSURE_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row, error.column) == (PRESSURE_FILE, 1, "ISIC Group")


def test_invalid_level_named(release_copy):
    def edit(records):
        records[10][5] = "Division"

    edit_csv(release_copy / PRESSURE_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row) == (PRESSURE_FILE, 11)
    assert error.column == "ISIC level used for analysis"


def test_short_row_named(release_copy):
    def edit(records):
        del records[7][-1]

    edit_csv(release_copy / DEPENDENCY_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row) == (DEPENDENCY_FILE, 8)
    assert "cells" in error.reason


def test_unknown_pressure_activity_named(release_copy):
    def edit(records):
        records[20][4] = "Raising of dragons"  # row 21 is a class row

    edit_csv(release_copy / PRESSURE_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row, error.column) == (
        PRESSURE_FILE,
        21,
        "ISIC Unique code",
    )


def test_repeated_activity_named(release_copy):
    def edit(records):
        records.append(list(records[1]))

    edit_csv(release_copy / DEPENDENCY_FILE, edit)
    error = load_error(release_copy)
    assert (error.file, error.row) == (DEPENDENCY_FILE, 273)


def test_invalid_utf8_after_bom_named(release_copy):
    # A Windows-1252 letter (0xC1) in row 22's ISIC Group, as an editor that
    # saves in that encoding would write it, in a file with a UTF-8 BOM.
    path = release_copy / PRESSURE_FILE
    data = bytearray(path.read_bytes())
    row_22 = sum(len(line) + 2 for line in data.split(b"\r\n")[:21])
    offset = data.index(b"Animal", row_22)
    data[offset] = 0xC1
    path.write_bytes(bytes(data))

    error = load_error(release_copy)

    assert error.file == PRESSURE_FILE
    assert error.row == 22
    assert "invalid UTF-8 byte" in error.reason
    assert f"byte offset {offset}" in error.reason


def test_invalid_utf8_in_quoted_line_break():
    data = '\ufeffa,b\r\n"one\ntwo",x\r\n"three\nf'.encode() + b"\xff" + b'",y\r\n'
    source = SourceFile("ENCORE files/99. Test.csv", data)

    with pytest.raises(KnowledgeBaseError) as caught:
        decode_csv(source)

    assert caught.value.row == 3
    assert f"byte offset {data.index(b'\xff')}" in caught.value.reason


def test_file_without_bom_read_as_windows_1252():
    source = SourceFile("Crosswalk tables/x.csv", b"a,b\r\nnon\xa0breaking,1\r\n")
    assert decode_csv(source) == [["a", "b"], ["non\xa0breaking", "1"]]


def test_missing_file_named(release_copy):
    (release_copy / PRESSURE_FILE).unlink()
    error = load_error(release_copy)
    assert error.file == "ENCORE files/"
    assert "pressure materiality ratings" in error.reason


def test_two_matching_files_rejected(release_copy):
    shutil.copy(
        release_copy / DEPENDENCY_FILE,
        release_copy / "ENCORE files/99. Dependency mat ratings.csv",
    )
    error = load_error(release_copy)
    assert error.file == "ENCORE files"
    assert "more than one file" in error.reason


def test_file_found_whatever_its_number(release_copy):
    (release_copy / DEPENDENCY_FILE).rename(
        release_copy / "ENCORE files/31. Dependency mat ratings.csv"
    )
    loaded = load_knowledge_base(release_copy)
    assert "ENCORE files/31. Dependency mat ratings.csv" in loaded.release.files


def test_undefined_service_named(release_copy):
    definitions = release_copy / "ENCORE files/02. Ecosystem services definitions.csv"

    def edit(records):
        for record in records:
            if record[0].startswith("Pollination"):
                record[0] = "Pollen transport"

    edit_csv(definitions, edit)
    error = load_error(release_copy)
    assert error.file == "ENCORE files/02. Ecosystem services definitions.csv"
    assert error.column == "Level 1 (Used for dependency links)"
    assert "Pollination" in error.reason


def test_crosswalk_code_named(release_copy):
    def edit(records):
        records[6][8] = "M_69"

    edit_csv(release_copy / CROSSWALK_FILE, edit, encoding="cp1252")
    error = load_error(release_copy)
    assert (error.file, error.row, error.column) == (
        CROSSWALK_FILE,
        7,
        "ISIC Rev. 4 Unique Code",
    )


def test_crosswalk_nace_code_named(release_copy):
    def edit(records):
        records[3][3] = "x1"

    edit_csv(release_copy / CROSSWALK_FILE, edit, encoding="cp1252")
    error = load_error(release_copy)
    assert (error.file, error.row, error.column) == (
        CROSSWALK_FILE,
        4,
        "NACE Rev 2. Code",
    )


def test_unreadable_gics_workbook_named(release_copy):
    gics = (
        release_copy
        / "Crosswalk tables/GICS - ENCORE production processes - ISIC .xlsx"
    )
    gics.write_bytes(b"not a workbook")
    loaded = load_knowledge_base(release_copy)
    with pytest.raises(KnowledgeBaseError) as caught:
        loaded.crosswalks.gics()
    assert caught.value.file == (
        "Crosswalk tables/GICS - ENCORE production processes - ISIC .xlsx"
    )


def test_missing_folder():
    with pytest.raises(KnowledgeBaseError):
        load_knowledge_base(Path("/nonexistent/encore"))


def test_release_name_from_folder(tmp_path, release_copy):
    named = tmp_path / "ENCORE knowledge base May 2026"
    release_copy.rename(named)
    loaded = load_knowledge_base(named)
    assert loaded.release.version == "May 2026"
    assert loaded.release.name_source == "folder"


def test_error_message_names_location():
    error = KnowledgeBaseError("is empty", file="a.csv", row=3, column="B")
    assert str(error) == "a.csv, row 3, column 'B': is empty"
    assert knowledge_base.KnowledgeBaseError is KnowledgeBaseError
