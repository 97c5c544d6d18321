"""The generic table reader, fed bytes the way spreadsheets and browsers write them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nature_risk.config import InputLimits
from nature_risk.errors import (
    InputError,
    NatureRiskError,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from nature_risk.tabular import find_column, normalise_header, read_table

LIMITS = InputLimits()
# A value that must never appear in an error message or a problem.
SECRET = "Zebra-Secret-4711"


def csv_table(body: bytes, **options):
    return read_table(body, "text/csv", LIMITS, **options)


def cells(table, column: str) -> list[str]:
    return table.frame[column].tolist()


def multipart(
    parts: list[tuple[str, str | None, bytes]], boundary: str = "b0und"
) -> bytes:
    """Build a multipart/form-data body as a browser sends it (CRLF lines)."""
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if filename is not None:
            head += "Content-Type: text/csv\r\n"
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


def assert_no_secret(error: NatureRiskError) -> None:
    assert SECRET not in error.message
    for problem in getattr(error, "problems", []):
        assert SECRET not in json.dumps(problem.to_dict())


# Encodings -----------------------------------------------------------------


def test_csv_utf8_bom_header():
    table = csv_table(b"\xef\xbb\xbfName,Code\r\nAcme,0111\r\n")

    assert table.columns == ["name", "code"]
    assert cells(table, "name") == ["Acme"]


def test_csv_utf8_without_bom():
    table = csv_table("name,code\r\nCaf\u00e9 \u00dcber,0111\r\n".encode())

    assert cells(table, "name") == ["Caf\u00e9 \u00dcber"]


def test_csv_cp1252_euro_sign():
    body = "name;amount\r\nM\u00fcller \u20ac;1\r\n".encode("cp1252")

    table = csv_table(body)

    assert cells(table, "name") == ["M\u00fcller \u20ac"]


def test_csv_utf16_unicode_text():
    # Excel's "Unicode Text" export: UTF-16 with a BOM, tab-separated.
    body = "name\tcode\r\nS\u00e3o Paulo Agro\t0111\r\n".encode("utf-16")

    table = csv_table(body)

    assert table.columns == ["name", "code"]
    assert cells(table, "name") == ["S\u00e3o Paulo Agro"]


def test_csv_undecodable_bytes_rejected():
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8.
    with pytest.raises(InputError, match="UTF-8"):
        csv_table(b"name,code\r\nA\x81,0111\r\n")


# Separators and line ends --------------------------------------------------


def test_csv_semicolon_separator():
    table = csv_table(b"Name;Code;Amount\r\nAcme, Inc;0111;1,5\r\n")

    assert table.columns == ["name", "code", "amount"]
    assert cells(table, "name") == ["Acme, Inc"]
    assert table.decimal == ","


def test_csv_tab_separator():
    table = csv_table(b"name\tcode\r\nAcme\t0111\r\n")

    assert cells(table, "code") == ["0111"]


def test_csv_comma_with_quoted_thousands():
    table = csv_table(b'name,amount\r\nAcme,"1,234.50"\r\n')

    assert cells(table, "amount") == ["1,234.50"]
    assert table.decimal == "."


def test_csv_sep_line_with_unusable_separator_rejected():
    # pandas' C engine takes one ASCII character only.
    with pytest.raises(InputError) as raised:
        csv_table("sep=\u20ac\r\nname,code\r\n".encode())

    assert [problem.reason for problem in raised.value.problems] == [
        "unsupported separator in the sep= line"
    ]


@pytest.mark.parametrize("line", [b"sep=\r\n", b"SEP=\n", b"sep=\r"])
def test_csv_sep_line_without_separator_rejected(line):
    with pytest.raises(InputError) as raised:
        csv_table(line + b"name,code\r\nAcme,0111\r\n")

    assert [problem.reason for problem in raised.value.problems] == [
        "unsupported separator in the sep= line"
    ]


def test_csv_excel_sep_line():
    # Excel hides the sep= line, so the header is its row 1.
    table = csv_table(b"sep=;\r\nname;code\r\nAcme;0111\r\n")

    assert table.columns == ["name", "code"]
    assert table.rows.tolist() == [2]


def test_csv_sep_line_row_numbers():
    body = b'sep=;\r\nname;code\r\nAcme;0111;x\r\n"Beta;0112\r\n'

    with pytest.raises(InputError) as raised:
        csv_table(body)

    assert [problem.row for problem in raised.value.problems] == [3]


@pytest.mark.parametrize(
    "line_end", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "bare-cr"]
)
def test_csv_line_endings(line_end):
    body = line_end.join([b"name,code", b"Acme,0111", b"Beta,0112", b""])

    table = csv_table(body)

    assert cells(table, "code") == ["0111", "0112"]
    assert table.rows.tolist() == [2, 3]


def test_csv_bare_cr_line_endings():
    # Excel for Mac 2011 saved CSV files with bare CR line ends.
    table = csv_table(b"name,code\rAcme,0111\r\rBeta,0112\r")

    assert cells(table, "name") == ["Acme", "Beta"]
    assert table.rows.tolist() == [2, 4]


def test_csv_without_final_line_end():
    table = csv_table(b"name,code\r\nAcme,0111")

    assert cells(table, "code") == ["0111"]


# Row numbers ---------------------------------------------------------------


def test_csv_quoted_newline_keeps_row_numbers():
    body = (
        b'name,code\r\n"Acme\nFarms",0111\r\n'
        b'"Beta\r\nFoods\r\nLtd",0112\r\nGamma,0113\r\n'
    )

    table = csv_table(body)

    assert cells(table, "name") == ["Acme\nFarms", "Beta\r\nFoods\r\nLtd", "Gamma"]
    assert table.rows.tolist() == [2, 3, 4]


def test_csv_blank_rows_keep_row_numbers():
    body = b"name,code\r\nAcme,0111\r\n\r\n,\r\nBeta,0112\r\n\r\n"

    table = csv_table(body)

    assert cells(table, "name") == ["Acme", "Beta"]
    assert table.rows.tolist() == [2, 5]
    assert table.rows.dtype == np.int64


def test_csv_leading_blank_lines_keep_row_numbers():
    table = csv_table(b"\r\n,,\r\nname,code\r\nAcme,0111\r\n")

    assert table.columns == ["name", "code"]
    assert table.rows.tolist() == [4]


# Columns -------------------------------------------------------------------


def test_csv_trailing_empty_columns_dropped():
    # LibreOffice and Excel keep separators of cleared columns.
    table = csv_table(b"name,code,,\r\nAcme,0111,,\r\nBeta,0112,,\r\n")

    assert table.columns == ["name", "code"]


def test_csv_unnamed_column_with_data_kept():
    table = csv_table(b"name,,code\r\nAcme,note,0111\r\n")

    assert table.columns == ["name", "column_2", "code"]


def test_csv_short_rows_padded():
    table = csv_table(b"name,code,amount\r\nAcme,0111\r\nBeta\r\n")

    assert cells(table, "code") == ["0111", ""]
    assert cells(table, "amount") == ["", ""]


def test_csv_trailing_empty_cells_on_data_rows():
    table = csv_table(b"name,code\r\nAcme,0111,,\r\nBeta,0112\r\n")

    assert cells(table, "code") == ["0111", "0112"]


def test_csv_extra_cells_reported_by_row():
    body = f"name,code\r\nAcme,0111\r\n{SECRET}, Inc,0112\r\nBeta,0113\r\n".encode()

    table = csv_table(body)

    assert [problem.row for problem in table.read_problems] == [3]
    assert SECRET not in json.dumps([p.to_dict() for p in table.read_problems])
    assert cells(table, "code") == ["0111", " Inc", "0113"]


def test_csv_extra_cells_on_first_data_row_reported():
    # pandas would silently drop the extra cell of a first data row.
    table = csv_table(b"name,code\r\nAcme, Inc,0111\r\n")

    assert [problem.row for problem in table.read_problems] == [2]


@pytest.mark.parametrize("cell", [b"", b"x"])
def test_csv_wide_first_row_skips_pandas(monkeypatch, cell):
    # pandas builds a column per cell of a long first data row, which made a
    # row of a million cells take minutes and gigabytes.
    import nature_risk.tabular as tabular_module

    pandas_reads = []
    monkeypatch.setattr(
        tabular_module, "_read_csv_fast", lambda *args: pandas_reads.append(args)
    )
    body = b"name,code\r\nAcme,0111" + (b"," + cell) * 1_000_000 + b"\r\nB,0112\r\n"

    table = csv_table(body)

    assert cells(table, "code") == ["0111", "0112"]
    assert [problem.row for problem in table.read_problems] == ([2] if cell else [])
    assert pandas_reads == []


WIDE_HEADER = ",".join(["name", "code"] + [f"column {i}" for i in range(198)])


def test_csv_blank_lines_skip_pandas(monkeypatch):
    # pandas pads each blank line to the header's width before blank rows are
    # dropped, which made a million blank lines take gigabytes.
    import nature_risk.tabular as tabular_module

    pandas_reads = []
    monkeypatch.setattr(
        tabular_module, "_read_csv_fast", lambda *args: pandas_reads.append(args)
    )
    body = f"{WIDE_HEADER}\n\nAcme,0111\n".encode() + b"\n" * 1_000_000 + b"Beta,0112\n"

    table = csv_table(body)

    assert pandas_reads == []
    assert cells(table, "code") == ["0111", "0112"]
    assert table.rows.tolist() == [3, 1_000_004]


def test_csv_ragged_path_keeps_row_numbers():
    # A row with an extra cell sends the file to the csv module's reader.
    body = b"name,code\r\n\r\nAcme,0111,x\r\n,\r\n\r\nBeta,0112\r\n"

    table = csv_table(body)

    assert table.rows.tolist() == [3, 6]
    assert [problem.row for problem in table.read_problems] == [3]


@pytest.mark.parametrize("width", [2, 200])
def test_csv_rows_of_spaces_not_counted(width):
    # A header of 200 columns sends these rows to the csv module's reader.
    header = WIDE_HEADER if width == 200 else "name,code"
    body = f"{header}\nA,0111\n \n\u00a0,\t\nB,0112\nC,0113\n".encode()

    table = read_table(body, "text/csv", InputLimits(max_rows=3))

    assert cells(table, "code") == ["0111", "0112", "0113"]
    assert table.rows.tolist() == [2, 5, 6]


@pytest.mark.parametrize("before", [b"", b"\r\n\r\n"])
def test_csv_header_longer_than_sample_rejected(before):
    # The separator is chosen from the first 64 KiB, which would cut the header.
    body = before + b"name,code," + b"x" * 72_000 + b",amount\r\nA,0111,,5\r\n"

    with pytest.raises(InputError) as raised:
        csv_table(body)

    assert [problem.reason for problem in raised.value.problems] == [
        "header row too long"
    ]


def test_json_too_many_cells_gives_413():
    # Each field named by any record gets a cell in every record.
    records = [{"code": "0111"}] * 80_000 + [{f"field {i}": "x" for i in range(199)}]
    body = json.dumps({"holdings": records}).encode()

    with pytest.raises(PayloadTooLarge) as raised:
        read_table(
            body,
            "application/json",
            InputLimits(max_body_bytes=10**8),
            records_field="holdings",
        )

    assert "16000000 cells" in raised.value.message


def test_csv_too_many_cells_gives_413():
    body = f"{WIDE_HEADER}\n".encode() + b"Acme,0111\n" * 90_000

    with pytest.raises(PayloadTooLarge) as raised:
        csv_table(body)

    assert "16000000 cells" in raised.value.message


def test_header_names_normalised():
    table = csv_table(
        "  ISIC Code (Rev.4) ,Montant \u20ac,Na\u00efve\r\n1,2,3\r\n".encode()
    )

    assert table.columns == ["isic_code_rev_4", "montant", "naive"]


def test_duplicate_headers_rejected():
    # The second "Name" column would never be read, so it is reported.
    with pytest.raises(InputError) as raised:
        csv_table(b"name,Name,code\r\na,b,c\r\n")

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {
            "reason": "duplicate column: column 2 has the same header as column 1",
            "row": 1,
        }
    ]


def test_blank_headers_numbered():
    table = csv_table(b"name,,,code\r\na,b,c,d\r\n")

    assert table.columns == ["name", "column_2", "column_3", "code"]


def test_normalise_header_examples():
    assert normalise_header("Amount (EUR)") == "amount_eur"
    assert normalise_header("ISIC_Unique-Code") == "isic_unique_code"
    assert normalise_header("  ") == ""


def test_find_column_alias_order():
    table = csv_table(b"isic,code\r\n1,2\r\n")

    assert find_column(table, ["code", "isic"]) == "code"
    assert find_column(table, ["ISIC", "code"]) == "isic"
    assert find_column(table, ["amount"]) is None


def test_find_column_prefix_match():
    table = csv_table(b"name,amount_eur\r\na,1\r\n")

    assert find_column(table, ["amount"]) == "amount_eur"


def test_numeric_column_read_as_float():
    table = csv_table(b"name,amount\r\na,1.5\r\nb,\r\n", numeric=[["amount"]])

    assert table.frame["amount"].dtype == np.float64
    assert table.frame["amount"].tolist()[0] == 1.5
    assert np.isnan(table.frame["amount"].tolist()[1])


def test_numeric_column_with_text_stays_text():
    table = csv_table(b"name,amount\r\na,1.5\r\nb,2 EUR\r\n", numeric=[["amount"]])

    assert cells(table, "amount") == ["1.5", "2 EUR"]


def test_numeric_column_decimal_comma_read_as_float():
    table = csv_table(b"name;amount\r\na;1,5\r\n", numeric=[["amount"]])

    assert table.frame["amount"].tolist() == [1.5]


# Limits and rejections -----------------------------------------------------


def test_csv_oversize_gives_413():
    limits = InputLimits(max_body_bytes=100)

    with pytest.raises(PayloadTooLarge) as raised:
        read_table(b"name,code\r\n" + b"Acme,0111\r\n" * 20, "text/csv", limits)

    assert raised.value.status == 413
    assert "100 bytes" in raised.value.message


def test_csv_too_many_rows_gives_413():
    limits = InputLimits(max_rows=3)
    body = b"name,code\r\n" + b"Acme,0111\r\n" * 4

    with pytest.raises(PayloadTooLarge) as raised:
        read_table(body, "text/csv", limits)

    assert "3 rows" in raised.value.message


def test_csv_row_limit_skips_blank_rows():
    limits = InputLimits(max_rows=2)
    body = b"name,code\r\nA,1\r\n\r\n\r\n,\r\nB,2\r\n"

    table = read_table(body, "text/csv", limits)

    assert table.rows.tolist() == [2, 6]


def test_csv_too_many_columns_gives_413():
    limits = InputLimits(max_columns=5)

    with pytest.raises(PayloadTooLarge, match="5 columns"):
        read_table(b"a,b,c,d,e,f\r\n1,2,3,4,5,6\r\n", "text/csv", limits)


def test_csv_empty_body_rejected():
    with pytest.raises(InputError, match="no header"):
        csv_table(b"")


def test_csv_only_blank_lines_rejected():
    with pytest.raises(InputError, match="no header"):
        csv_table(b"\r\n,,\r\n\r\n")


def test_csv_nul_bytes_rejected():
    with pytest.raises(InputError, match="NUL"):
        csv_table(b"name,code\r\nAc\x00me,0111\r\n")


def test_csv_nul_cells_located():
    body = (
        b"sep=,\r\n"
        b"name,code,notes\r\n"
        b"Acme,0111,ok\r\n"
        b'"Multi\r\nline",01\x0011,fine\r\n'
        b"Beta,0112,n\x00te\r\n"
    )
    with pytest.raises(InputError) as raised:
        read_table(body, "text/csv", LIMITS, fields=[["name"], ["code"]])

    problems = [problem.to_dict() for problem in raised.value.problems]
    assert problems == [
        {"row": 3, "field": "code", "reason": "contains a NUL character"},
        {"row": 4, "reason": "contains a NUL character"},
    ]


def test_csv_nul_in_header_located():
    with pytest.raises(InputError) as raised:
        csv_table(b"name,co\x00de\r\nAcme,0111\r\n")

    problems = [problem.to_dict() for problem in raised.value.problems]
    assert problems == [{"row": 1, "reason": "contains a NUL character"}]


def test_csv_mostly_nul_not_text():
    body = "name,code\r\nAcme,0111\r\n".encode("utf-16-le")
    with pytest.raises(InputError, match="not a CSV text file") as raised:
        csv_table(body)

    assert raised.value.problems == []


def test_csv_workbook_gives_415():
    with pytest.raises(UnsupportedMediaType, match="CSV"):
        csv_table(b"PK\x03\x04\x14\x00\x06\x00rest-of-an-xlsx")


def test_unsupported_content_type_gives_415():
    with pytest.raises(UnsupportedMediaType) as raised:
        read_table(b"name,code", "application/xml", LIMITS)

    assert raised.value.status == 415


def test_csv_media_types_accepted():
    for content_type in (
        "text/csv",
        "text/csv; charset=utf-8",
        "application/vnd.ms-excel",
        "text/plain",
        "TEXT/CSV",
    ):
        table = read_table(b"name,code\r\nA,1\r\n", content_type, LIMITS)
        assert table.columns == ["name", "code"], content_type


# Real data -----------------------------------------------------------------


def test_encore_rating_file_reads_every_row(encore_dir: Path):
    # An official release file: BOM, CRLF records, quoted cells with commas.
    body = (encore_dir / "ENCORE files" / "06. Dependency mat ratings.csv").read_bytes()

    table = read_table(body, "text/csv", LIMITS)

    assert len(table.frame) == 271
    assert table.rows.tolist() == list(range(2, 273))
    assert table.columns[0] == "isic_unique_code"
    assert cells(table, "isic_unique_code")[0] == "A_1_14_141"


# JSON ----------------------------------------------------------------------


def test_json_builds_same_table_as_csv():
    csv_body = b"name,code,amount\r\nAcme,0111,1.5\r\nBeta,0112,\r\n"
    json_body = json.dumps(
        {
            "holdings": [
                {"name": "Acme", "code": "0111", "amount": 1.5},
                {"name": "Beta", "code": "0112", "amount": None},
            ]
        }
    ).encode()

    from_csv = read_table(csv_body, "text/csv", LIMITS)
    from_json = read_table(
        json_body, "application/json", LIMITS, records_field="holdings"
    )

    assert from_json.columns == from_csv.columns
    assert from_json.frame.to_dict("list") == from_csv.frame.to_dict("list")
    assert from_json.source == "json"
    assert from_json.rows.tolist() == [0, 1]


def test_json_top_level_fields_become_form_fields():
    body = json.dumps(
        {"currency": "EUR", "holdings": [{"code": "0111"}], "options": {"a": True}}
    ).encode()

    table = read_table(body, "application/json", LIMITS)

    assert table.form_fields == {"currency": "EUR", "options": {"a": True}}


def test_json_bare_list_accepted():
    table = read_table(b'[{"code": "0111"}, {"code": 112}]', "application/json", LIMITS)

    assert cells(table, "code") == ["0111", "112"]


def test_json_wrong_type_names_field():
    body = json.dumps(
        {"holdings": [{"code": "0111"}, {"code": True}, ["x"], {"amount": {"v": 1}}]}
    ).encode()

    with pytest.raises(InputError) as raised:
        read_table(
            body,
            "application/json",
            LIMITS,
            records_field="holdings",
            fields=[("code", "amount")],
        )

    fields = [problem.field for problem in raised.value.problems]
    assert fields == ["holdings[1].code", "holdings[2]", "holdings[3].amount"]


def test_json_wrong_type_of_unknown_key_names_position():
    body = json.dumps({"holdings": [{"code": "0111", "Secret": [1]}]}).encode()

    with pytest.raises(InputError) as raised:
        read_table(
            body,
            "application/json",
            LIMITS,
            records_field="holdings",
            fields=[("code",)],
        )

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {
            "reason": "unknown field (key 2 of the object):"
            " must be a string or a number",
            "field": "holdings[0]",
        }
    ]


def test_json_missing_list_names_field():
    with pytest.raises(InputError) as raised:
        read_table(
            b'{"currency": "EUR"}', "application/json", LIMITS, records_field="holdings"
        )

    assert raised.value.problems[0].field == "holdings"


def test_json_invalid_gives_input_error():
    with pytest.raises(InputError, match="line 1"):
        read_table(f'{{"holdings": [{SECRET}'.encode(), "application/json", LIMITS)


def test_json_nan_literal_rejected():
    with pytest.raises(InputError):
        read_table(b'[{"amount": NaN}]', "application/json", LIMITS)


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_deep_nesting_rejected(depth):
    with pytest.raises(InputError) as raised:
        read_table(b"[" * depth + b"]" * depth, "application/json", LIMITS)

    assert "nested too deeply" in raised.value.message
    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"reason": "nested too deeply", "field": "body"}
    ]


def test_json_too_many_entries_gives_413():
    limits = InputLimits(max_rows=2)

    with pytest.raises(PayloadTooLarge, match="2 entries"):
        read_table(
            b'[{"code": "1"}, {"code": "2"}, {"code": "3"}]', "application/json", limits
        )


# multipart/form-data -------------------------------------------------------


def test_multipart_file_field_and_text_fields():
    body = multipart(
        [
            ("currency", None, b"EUR"),
            ("file", "portfolio.csv", b"name,code\r\nAcme,0111\r\n"),
            ("options", None, b'{"exclude_water_supply": true}'),
        ]
    )

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert table.source == "multipart"
    assert cells(table, "code") == ["0111"]
    assert table.form_fields == {
        "currency": "EUR",
        "options": '{"exclude_water_supply": true}',
    }


def test_multipart_two_files_rejected():
    body = multipart(
        [
            ("upload", "a.csv", b"name,code\r\nFirst,0111\r\n"),
            ("other", "b.csv", b"name,code\r\nSecond,0112\r\n"),
        ]
    )

    with pytest.raises(InputError) as raised:
        read_table(body, 'multipart/form-data; boundary="b0und"', LIMITS)

    assert raised.value.problems[0].field == "file"


def test_multipart_file_field_and_named_file_rejected():
    body = multipart(
        [
            ("upload", "a.csv", b"name,code\r\nFirst,0111\r\n"),
            ("file", "b.csv", b"name,code\r\nChosen,0112\r\n"),
        ]
    )

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert raised.value.problems[0].reason == "2 files sent, expected 1"


def test_multipart_one_named_file_read():
    body = multipart([("upload", "a.csv", b"name,code\r\nFirst,0111\r\n")])

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert cells(table, "name") == ["First"]


def test_multipart_file_keeps_row_numbers_and_final_crlf():
    body = multipart([("file", "p.csv", b"name,code\r\nA,1\r\n\r\nB,2\r\n")])

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert table.rows.tolist() == [2, 4]


def test_multipart_cp1252_file():
    content = "name;code\r\nCaf\u00e9 \u20ac;0111\r\n".encode("cp1252")
    body = multipart([("file", "p.csv", content)])

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert cells(table, "name") == ["Caf\u00e9 \u20ac"]


def test_multipart_base64_part():
    content = base64.b64encode(b"name,code\r\nA,0111\r\n")
    body = (
        b"--b0und\r\n"
        b'Content-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + content + b"\r\n--b0und--\r\n"
    )

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert cells(table, "code") == ["0111"]


def base64_part(content: bytes, encoding: bytes = b"base64") -> bytes:
    return (
        b"--b0und\r\n"
        b'Content-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        b"Content-Transfer-Encoding: "
        + encoding
        + b"\r\n\r\n"
        + content
        + b"\r\n--b0und--\r\n"
    )


def test_multipart_base64_wrapped_lines():
    rows = b"name,code\r\n" + b"".join(b"A%d,0111\r\n" % i for i in range(40))
    encoded = base64.encodebytes(rows).replace(b"\n", b"\r\n")

    table = read_table(
        base64_part(encoded), "multipart/form-data; boundary=b0und", LIMITS
    )

    assert len(table.frame) == 40


@pytest.mark.parametrize(
    "content",
    [
        # Two encoded blocks: a lenient decoder stops at the first padding.
        base64.b64encode(b"name,code\r\nA,0111\r\n")
        + b"\r\n"
        + base64.b64encode(b"B,0112\r\nC,0113\r\n"),
        base64.b64encode(b"name,code\r\nA,0111\r\n") + b"*",
        base64.b64encode(b"name,code\r\nA,0111\r\n") + b"==",
        b"bmFtZSxjb2Rl=DQpBLDAxMTE=",
    ],
    ids=["two-blocks", "stray-character", "extra-padding", "inner-padding"],
)
def test_multipart_invalid_base64_rejected(content):
    with pytest.raises(InputError) as raised:
        read_table(base64_part(content), "multipart/form-data; boundary=b0und", LIMITS)

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"field": "file", "reason": "invalid base64"}
    ]


def test_multipart_unknown_transfer_encoding_rejected():
    body = base64_part(b"name,code\r\nA,0111\r\n", b"quoted-printable")

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert raised.value.problems[0].field == "file"


def test_multipart_without_file_rejected():
    body = multipart([("currency", None, b"EUR")])

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert raised.value.problems[0].field == "file"


def test_multipart_without_boundary_rejected():
    with pytest.raises(InputError, match="boundary"):
        read_table(b"--x\r\n\r\n", "multipart/form-data", LIMITS)


def test_multipart_long_part_headers_rejected():
    # The email package parses header parameters in quadratic time.
    body = multipart([("file", "p.csv", b"name,code\r\nAcme,0111\r\n")])
    body = body.replace(
        b'filename="p.csv"', b'filename="p.csv"; x="' + b";" * 9000 + b'"'
    )

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert [problem.reason for problem in raised.value.problems] == [
        "part headers too long"
    ]


def test_multipart_long_headers_in_all_rejected():
    # Three parts of 7 KB headers each pass the limit per part, not in all.
    fields = [(f"f{i}", None, b"v") for i in range(3)]
    body = multipart([*fields, ("file", "p.csv", b"name,code\r\nAcme,0111\r\n")])
    for i in range(3):
        body = body.replace(
            f'name="f{i}"'.encode(), f'name="f{i}"; x="'.encode() + b";" * 7000 + b'"'
        )

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert [problem.reason for problem in raised.value.problems] == [
        "part headers too long"
    ]


def test_multipart_too_many_parts_rejected():
    fields = [(f"f{i}", None, b"v") for i in range(64)]
    body = multipart([*fields, ("file", "p.csv", b"name,code\r\nAcme,0111\r\n")])

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert [problem.reason for problem in raised.value.problems] == ["too many parts"]


def test_multipart_lf_headers_crlf_content():
    # The part's headers end at its first blank line, an LF one here, not at
    # the CRLF blank line inside the file.
    body = (
        b'--b0und\nContent-Disposition: form-data; name="file"; filename="p.csv"'
        b"\n\nname,code\r\nAcme,0111\r\n\r\nBeta,0112\r\n\n--b0und--\n"
    )

    table = read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert cells(table, "code") == ["0111", "0112"]


def test_multipart_file_name_never_in_errors():
    body = multipart([("file", f"{SECRET}.csv", b"")])

    with pytest.raises(InputError) as raised:
        read_table(body, "multipart/form-data; boundary=b0und", LIMITS)

    assert_no_secret(raised.value)


# Messages and hostile input ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (f"name,{SECRET}\r\n\x00".encode(), "text/csv"),
        (f'[{{"{SECRET}": true}}]'.encode(), "application/json"),
        (f'{{"{SECRET}": 1}}'.encode(), "application/json"),
        (f'[{{"code": "{SECRET}", "x": [1]}}]'.encode(), "application/json"),
        # A NUL in a cell, under a header the route does not read.
        (f"code,{SECRET}\r\n0111,{SECRET}\x00\r\n".encode(), "text/csv"),
        (f'[{{"code": "{SECRET}"}}]'.encode("utf-16"), "application/json"),
        (f'[{{"code": "{SECRET}", "amount": NaN}}]'.encode(), "application/json"),
        (
            b"--b0und\r\n"
            b'Content-Disposition: form-data; name="file"; filename="p.csv"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + SECRET.encode()
            + b"=*\r\n--b0und--\r\n",
            "multipart/form-data; boundary=b0und",
        ),
    ],
)
def test_errors_never_quote_input(body, content_type):
    with pytest.raises(NatureRiskError) as raised:
        read_table(body, content_type, LIMITS)

    assert_no_secret(raised.value)


CONTENT_TYPES = st.sampled_from(
    [
        "text/csv",
        "application/json",
        "multipart/form-data; boundary=b0und",
        "multipart/form-data",
        "application/octet-stream",
        "image/png",
        "",
    ]
)
CSV_ALPHABET = st.sampled_from(
    [
        b",",
        b";",
        b"\t",
        b'"',
        b"\r",
        b"\n",
        b"a",
        b"1",
        b".",
        b"\xe2\x82\xac",
        b"\xff",
        b"\x00",
        b"sep=",
        b"--b0und",
        b"\r\n\r\n",
        b"{",
        b"[",
        b"]",
        b"}",
        b":",
        b"PK\x03\x04",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(CSV_ALPHABET, max_size=80).map(b"".join),
    ),
    content_type=CONTENT_TYPES,
)
def test_hostile_bytes_raise_only_domain_errors(body, content_type):
    try:
        table = read_table(body, content_type, LIMITS, numeric=[["a"], ["amount"]])
    except NatureRiskError:
        return
    assert len(table.rows) == len(table.frame)
    assert list(table.frame.columns) == table.columns


# Charsets and JSON encodings ---------------------------------------------------


def test_repeated_charset_rejected():
    with pytest.raises(UnsupportedMediaType, match="more than one charset"):
        read_table(
            b"name,code\r\nA,0111\r\n",
            "text/csv; charset=utf-8; charset=utf-16",
            LIMITS,
        )


@pytest.mark.parametrize("declared", ["utf-16be", "utf-8", "windows-1252"])
def test_byte_order_mark_overrides_charset(declared):
    body = "\ufeffname,code\r\nCafé,0111\r\n".encode("utf-16-le")

    table = read_table(body, f"text/csv; charset={declared}", LIMITS)

    assert cells(table, "name") == ["Café"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_json_not_utf8_rejected(codec):
    body = '[{"code": "0111"}]'.encode(codec)

    with pytest.raises(InputError) as raised:
        read_table(body, "application/json", LIMITS)

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"field": "body", "reason": "not UTF-8"}
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"code": "0111", "amount": NaN}]', "invalid JSON"),
        (b'[{"code": "0111"', "invalid JSON"),
        (b'[{"code": "01\xff11"}]', "invalid UTF-8"),
    ],
    ids=["nan", "truncated", "invalid-utf8"],
)
def test_invalid_json_names_body(body, reason):
    with pytest.raises(InputError) as raised:
        read_table(body, "application/json", LIMITS)

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"field": "body", "reason": reason}
    ]


def test_unclosed_quote_before_long_tail_located():
    body = b'name,code\r\nA,0111\r\n"abc,0111\r\n' + b"B,0112\r\n" * 30_000

    with pytest.raises(InputError) as raised:
        csv_table(body)

    assert [problem.to_dict() for problem in raised.value.problems] == [
        {"row": 3, "reason": "invalid CSV quoting (an unclosed or stray quote)"}
    ]


def test_long_quoted_cell_read_on_csv_paths():
    # A first row wider than the header takes the csv module's path.
    long_name = "x" * 200_000
    body = f'name,code\r\n"{long_name}",0111,\r\n'.encode()

    table = csv_table(body)

    assert cells(table, "name") == [long_name]


@pytest.mark.parametrize("charset", ["utf-16", "klingon", "utf-8; charset=utf-8"])
def test_json_other_charset_told_utf8(charset):
    with pytest.raises(UnsupportedMediaType, match="JSON body must be UTF-8"):
        read_table(b"[]", f"application/json; charset={charset}", LIMITS)


def test_csv_nul_cells_over_cap_truncated():
    limits = InputLimits(max_row_errors=5)
    body = b"name,code\r\n" + b"X\x00,0141\r\n" * 20 + b"Y,0141\r\n" * 200

    with pytest.raises(InputError) as raised:
        read_table(body, "text/csv", limits)

    assert len(raised.value.problems) == 5
    assert raised.value.truncated is True
    assert "The first 5 are listed" in str(raised.value)
