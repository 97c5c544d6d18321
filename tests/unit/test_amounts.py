"""Amount parsing by shape: byte cells, long text columns and CSV amount columns.

The per-value path (``parse_amounts`` on a short column) defines the rules.
These tests check that the vectorised paths for long columns give exactly its
amounts and problems, also when a column changes format after its first rows.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import nature_risk.amounts as amounts_module
import nature_risk.tabular as tabular_module
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nature_risk.amounts import (
    MAX_AMOUNT_BYTES,
    REASON_INVALID,
    REASON_MIXED_CURRENCY,
    REASON_TOO_LARGE,
    check_amount_currencies,
    parse_amount_bytes,
    parse_amounts,
    reject_currencies,
)
from nature_risk.biodiversity.agriculture import parse_agriculture_holdings
from nature_risk.biodiversity.mining import parse_mining_assets
from nature_risk.config import InputLimits
from nature_risk.errors import InputError
from nature_risk.portfolio_input import AMOUNT_ALIASES, parse_holdings
from nature_risk.tabular import Table, read_table

LIMITS = InputLimits()
ROWS = 1_200


@contextmanager
def per_value_path():
    """Turn off the byte and shape paths, leaving one read per value."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(amounts_module, "_SHAPE_PATH_MIN_VALUES", 10**9)
        patch.setattr(tabular_module, "_DIGITS_AND_SEPARATORS", re.compile(r"(?!)"))
        yield


def per_value(values: list[str], decimal: str) -> tuple[np.ndarray, list]:
    with per_value_path():
        return parse_amounts(
            values, np.arange(2, len(values) + 2), "amount", decimal=decimal
        )


def byte_cells(values: list[str]) -> np.ndarray:
    return np.array([value.encode() for value in values], dtype="S33")


def german(value: float) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def csv_body(values: list[str], delimiter: str = ";") -> bytes:
    lines = [f"name{delimiter}code{delimiter}amount"]
    lines += [
        f'Company {i}{delimiter}0111{delimiter}"{value}"'
        for i, value in enumerate(values)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def read_amount_table(values: list[str]) -> Table:
    return read_table(
        csv_body(values),
        "text/csv",
        LIMITS,
        numeric=[AMOUNT_ALIASES],
        amount_columns=[AMOUNT_ALIASES],
    )


def holdings_outcome(body: bytes) -> tuple[list[float] | None, list[tuple]]:
    """Return the amounts, or the problems (row, field, reason) of an upload."""
    try:
        holdings = parse_holdings(body, "text/csv", LIMITS)
    except InputError as error:
        return None, [(p.row, p.field, p.reason) for p in error.problems]
    return holdings.amounts.tolist(), []


# Values a spreadsheet or a person writes in an amount column, good and bad.
ODD_AMOUNTS = [
    "",
    "0",
    "1.234",
    "1,234",
    "12,5",
    "12.5",
    ",5",
    ".5",
    "5,",
    "5.",
    ",",
    ".",
    "1.23,4",
    "1.2.3",
    "1.234.5",
    "1234.567",
    "0001.234,5",
    "0.234,5",
    ".234,5",
    "0,500",
    "0.500",
    "00,500",
    ",500",
    "0,001,000",
    "1234,567",
    "€ 0,500",
    "0 500",
    "0'500",
    "€ 0 500",
    "1 050 000",
    "1,234.56",
    "1.234,56",
    "1.234.567",
    "1,234,567",
    "1,,234",
    "123456789012345",
    "1234567890123456",
    "12.345.678.901.234,567",
    "9" * 19,
    "-5",
    "(5)",
    "5-",
    "+7",
    " 5",
    "1 234,5",
    "12 34",
    "€ 7",
    "5 €€",
    "€5€",
    "EUR 1.234,56",
    "1e6",
    "nan",
    "-",
]
DIGITS_AND_SEPARATORS = st.text(alphabet="0123456789.,", max_size=32)
AMOUNT = st.one_of(
    st.floats(min_value=0, max_value=1e12, allow_nan=False).map(german),
    st.floats(min_value=0, max_value=1e12, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st.integers(min_value=0, max_value=10**16).map(str),
    st.sampled_from(ODD_AMOUNTS),
    DIGITS_AND_SEPARATORS,
)


# parse_amount_bytes --------------------------------------------------------


def test_amount_bytes_german_column():
    cells = byte_cells(["1.234.567,89", "987,5", "", "12", "0,05"])

    amounts = parse_amount_bytes(cells, ",")

    assert amounts[:2].tolist() == [1234567.89, 987.5]
    assert np.isnan(amounts[2])
    assert amounts[3:].tolist() == [12.0, 0.05]


def test_amount_bytes_ambiguous_follows_column():
    assert parse_amount_bytes(byte_cells(["1.234", "1.234,5"]), ",").tolist() == [
        1234.0,
        1234.5,
    ]
    assert parse_amount_bytes(byte_cells(["1,234", "12,5"]), ".").tolist() == [
        1.234,
        12.5,
    ]


def test_amount_bytes_ambiguous_follows_decimal_hint():
    assert parse_amount_bytes(byte_cells(["1.234"]), ",").tolist() == [1234.0]
    assert parse_amount_bytes(byte_cells(["1.234"]), ".").tolist() == [1.234]


@pytest.mark.parametrize(
    "odd", ["1.23,4", "1234.567", "0001.234,5", "1,,234", ",", "12 34", "-5", "5€"]
)
def test_amount_bytes_none_for_bad_or_other_cells(odd):
    cells = byte_cells(["1.234,56"] * 300 + [odd])

    assert parse_amount_bytes(cells, ",") is None


def test_amount_bytes_none_when_cell_fills_width():
    cells = np.array([b"1.234,56", b"12345678"], dtype="S8")

    assert parse_amount_bytes(cells, ",") is None


def test_amount_bytes_empty_column():
    assert parse_amount_bytes(np.array([], dtype="S33"), ",").tolist() == []


@pytest.mark.parametrize(
    "text",
    [
        "123.456.789.012,345",
        "1.234.567.890.123,4567",
        "98.765.432.109.876.543",
        "0,1234567890123456789",
        "9" * MAX_AMOUNT_BYTES,
    ],
)
def test_amount_bytes_long_values_exact(text):
    canonical = text.replace(".", "").replace(",", ".")

    amounts = parse_amount_bytes(byte_cells([text, "1,5"]), ",")

    assert amounts[0] == float(canonical)


@settings(max_examples=400, deadline=None)
@given(values=st.lists(AMOUNT, min_size=1, max_size=40), decimal=st.sampled_from(".,"))
def test_amount_bytes_matches_per_value(values, decimal):
    expected, problems = per_value(values, decimal)
    pure = all(re.fullmatch(r"[0-9.,]*", value) for value in values)

    amounts = parse_amount_bytes(byte_cells(values), decimal)

    if problems or not pure:
        assert amounts is None or {p.reason for p in problems} == {REASON_TOO_LARGE}
    else:
        assert amounts is not None
        np.testing.assert_array_equal(amounts, expected)


# Long text columns -----------------------------------------------------------


@pytest.mark.parametrize(
    ("common", "odd"),
    [
        ("1.234,56", "0001.234,5"),
        ("1.234,56 €", "5 €€"),
        ("1.234,56 €", "€5€"),
        ("1.234,56", "1.23,4"),
        ("1.234,56", "1.234"),
        ("1,234.56", "1.234"),
        ("EUR 1.234,56", "EUR 12.5"),
    ],
)
def test_long_text_column_odd_value_after_sample(common, odd):
    values = [common] * ROWS
    values[900] = odd
    rows = np.arange(2, ROWS + 2)

    amounts, problems = parse_amounts(values, rows, "amount", decimal=",")
    expected, expected_problems = per_value(values, ",")

    np.testing.assert_array_equal(amounts, expected)
    assert problems == expected_problems


def test_long_text_column_reports_each_bad_row():
    values = ["1.234,56"] * ROWS
    values[250], values[1100] = "1.23,4", "12 34"

    _, problems = parse_amounts(values, np.arange(2, ROWS + 2), "amount")

    assert [(p.row, p.reason) for p in problems] == [
        (252, REASON_INVALID),
        (1102, REASON_INVALID),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    common=AMOUNT,
    odd=st.lists(st.tuples(st.integers(0, ROWS - 1), AMOUNT), max_size=6),
    decimal=st.sampled_from(".,"),
)
def test_long_text_column_matches_per_value(common, odd, decimal):
    values = [common] * ROWS
    for position, value in odd:
        values[position] = value
    rows = np.arange(2, ROWS + 2)

    amounts, problems = parse_amounts(values, rows, "amount", decimal=decimal)
    expected, expected_problems = per_value(values, decimal)

    np.testing.assert_array_equal(amounts, expected)
    assert problems == expected_problems


# CSV amount columns -----------------------------------------------------------


def test_csv_german_amounts_read_as_float():
    values = [german(i * 1234.5) for i in range(ROWS)]

    table = read_amount_table(values)

    assert table.frame["amount"].dtype == np.float64
    assert table.frame["amount"].tolist() == [i * 1234.5 for i in range(ROWS)]


def test_csv_bad_amount_keeps_column_as_text():
    values = ["1.234,56"] * ROWS
    values[700] = "1.23,4"

    table = read_amount_table(values)

    assert table.frame["amount"].dtype == table.frame["name"].dtype
    assert table.frame["amount"].tolist() == values


@pytest.mark.parametrize(
    "odd",
    [
        "1.23,4",
        "1.234",
        "12.5",
        "-5",
        "€ 5",
        "5 EUR",
        "",
        "0001.234,5",
        "1" * 40,
        "1,5" + " " * 40 + "x",
        "9" * 19,
        "1.234.567.890.123.456.789,5",
    ],
)
def test_csv_amount_after_sample_matches_per_value(odd):
    values = [german(i * 1234.5) for i in range(ROWS)]
    values[600] = odd
    body = csv_body(values)

    outcome = holdings_outcome(body)
    with per_value_path():
        expected = holdings_outcome(body)

    assert outcome == expected


def test_csv_bad_amounts_name_rows():
    values = ["1.234,56"] * ROWS
    values[300], values[900] = "1.23,4", "-5"

    _, problems = holdings_outcome(csv_body(values))

    assert [(row, field) for row, field, _ in problems] == [
        (302, "amount"),
        (902, "amount"),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    odd=st.lists(st.tuples(st.integers(200, ROWS - 1), AMOUNT), max_size=4),
    delimiter=st.sampled_from([";", ","]),
)
def test_csv_amount_column_matches_per_value(first, odd, delimiter):
    # German amounts for semicolon files, English ones for comma files.
    write = german if delimiter == ";" else (lambda value: f"{value:,.2f}")
    values = [write(first + i * 0.37) for i in range(ROWS)]
    for position, value in odd:
        values[position] = value
    body = csv_body(values, delimiter)

    outcome = holdings_outcome(body)
    with per_value_path():
        expected = holdings_outcome(body)

    assert outcome == expected


# Currencies in long columns -------------------------------------------------


def test_currency_check_plain_digits_column():
    values = [german(i * 1.5) for i in range(ROWS)] + ["1e6", ""]

    currency, problems = check_amount_currencies(
        values, np.arange(len(values)), "amount", None
    )

    assert currency is None
    assert problems == []


def test_currency_check_finds_late_code():
    values = ["1.234,56"] * ROWS
    values[1000], values[1100] = "5 USD", "7 EUR"

    currency, problems = check_amount_currencies(
        values, np.arange(2, ROWS + 2), "amount", None
    )

    assert currency == "USD"
    assert [(p.row, p.reason) for p in problems] == [(1102, REASON_MIXED_CURRENCY)]


@pytest.mark.parametrize("odd", ["US$5", "5 eur", "$5", "5 €", "5 abc", "5e"])
def test_quantity_currency_check_late_cell(odd):
    values = ["1234,5"] * ROWS
    values[900] = odd

    problems = reject_currencies(values, np.arange(2, ROWS + 2), "area_hectares")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(amounts_module, "_ASCII_NON_HINTS", b"")
        expected = reject_currencies(values, np.arange(2, ROWS + 2), "area_hectares")

    assert problems == expected


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.text(alphabet=st.characters(max_codepoint=127)), max_size=20))
def test_currency_check_ascii_test_matches_full_scan(values):
    rows = np.arange(2, len(values) + 2)

    outcome = check_amount_currencies(values, rows, "amount", None)
    with pytest.MonkeyPatch.context() as patch:
        # With nothing to delete, no column passes the quick test.
        patch.setattr(amounts_module, "_ASCII_NON_HINTS", b"")
        expected = check_amount_currencies(values, rows, "amount", None)

    assert outcome == expected


def test_currency_check_euro_column_late_dollar():
    values = ["1.234,56 €"] * ROWS
    values[1150] = "$5"

    currency, problems = check_amount_currencies(
        values, np.arange(2, ROWS + 2), "amount", None
    )

    assert currency == "EUR"
    assert [(p.row, p.reason) for p in problems] == [(1152, REASON_MIXED_CURRENCY)]


def test_shapes_map_only_ascii_digits():
    # U+0663 is an Arabic-Indic digit, which amounts never accept as a digit.
    text = "1.234,56 €\n\u06635\x0012 EUR"

    assert amounts_module._digits_as_nines(text) == "9.999,99 €\n\u06639\x0099 EUR"
    assert amounts_module._digits_as_nines("12.5") == "99.9"


def test_multipart_german_amounts_match_csv():
    values = [german(i * 7.25) for i in range(ROWS)]
    values[450] = "1.23,4"
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + csv_body(values) + b"\r\n--XyZ--\r\n"
    )

    with pytest.raises(InputError) as raised:
        parse_holdings(body, "multipart/form-data; boundary=XyZ", LIMITS)
    problems = [(p.row, p.field, p.reason) for p in raised.value.problems]

    assert problems == holdings_outcome(csv_body(values))[1]
    assert problems == [(452, "amount", REASON_INVALID)]


def test_long_text_column_unpaired_surrogate():
    values = ["1,5 \ud800"] * ROWS

    amounts, problems = parse_amounts(values, np.arange(2, ROWS + 2), "amount")
    _, currency_problems = check_amount_currencies(
        values, np.arange(2, ROWS + 2), "amount", None
    )

    assert np.isnan(amounts).all()
    assert {p.reason for p in problems} == {REASON_INVALID}
    assert currency_problems == []


# --- evidence after the plain-number sample ------------------------------------


@pytest.mark.parametrize("count", [199, 200, 201, 400, 1200])
def test_plain_column_ambiguous_follows_later_evidence(count):
    # 0,5 after the sampled values shows that "." groups thousands here.
    values = ["1.234"] * count + ["0,5"]
    amounts, problems = parse_amounts(values, range(2, count + 3), "amount")
    assert problems == []
    assert amounts[:count].tolist() == [1234.0] * count
    assert amounts[-1] == 0.5


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_ambiguous_follows_evidence_after_sample(delimiter):
    lines = [f'H{i}{delimiter}A_1_11_111{delimiter}"1.234"' for i in range(250)]
    lines.append(f'Last{delimiter}A_1_11_111{delimiter}"0,5"')
    body = "\r\n".join([f"name{delimiter}code{delimiter}amount", *lines]).encode()
    holdings = parse_holdings(body, "text/csv", InputLimits())
    assert holdings.amounts[:250].tolist() == [1234.0] * 250
    assert holdings.amounts[-1] == 0.5


# --- JSON numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text", "expected"),
    [
        (1.234, "1.234,5", [1.234, 1234.5]),
        (0.001, "1.234,5", [0.001, 1234.5]),
        (12345.678, "2,5", [12345.678, 2.5]),
        (100.0, "1,5", [100.0, 1.5]),
        (1e16, "2", [1e16, 2.0]),
        (1.5e-05, "1", [1.5e-05, 1.0]),
    ],
)
def test_json_number_is_exact_beside_written_amounts(number, text, expected):
    # A JSON number is no written text: the other cells' separators never
    # change it, and it is no evidence for them.
    body = json.dumps(
        {
            "holdings": [
                {"name": "A", "code": "0111", "amount": number},
                {"name": "B", "code": "0111", "amount": text},
            ]
        }
    ).encode()
    holdings = parse_holdings(body, "application/json", InputLimits())
    assert holdings.amounts.tolist() == expected


def test_json_float_code_keeps_its_text():
    body = json.dumps({"holdings": [{"code": 111.0, "amount": 1}]}).encode()
    holdings = parse_holdings(body, "application/json", InputLimits())
    assert holdings.codes == ["111.0"]


def test_json_numbers_exact_in_biodiversity_amounts():
    assets = json.dumps(
        {
            "assets": [
                {"latitude": -24.3, "longitude": -69.1, "amount": 1.234},
                {"latitude": -24.3, "longitude": -69.1, "amount": "1.234,5"},
            ]
        }
    ).encode()
    parsed = parse_mining_assets(assets, "application/json", InputLimits())
    assert parsed.amounts.tolist() == [1.234, 1234.5]
    holdings = json.dumps(
        {
            "holdings": [
                {"commodity": "wheat", "country": "FRA", "tonnes": 10, "amount": 1.234},
                {
                    "commodity": "wheat",
                    "country": "FRA",
                    "tonnes": 10,
                    "amount": "1.234,5",
                },
            ]
        }
    ).encode()
    parsed = parse_agriculture_holdings(holdings, "application/json", InputLimits())
    assert parsed.amounts.tolist() == [1.234, 1234.5]


# --- line breaks -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["1\n234", "1\r\n234", "1\r234", "1\u2028234"])
@pytest.mark.parametrize("count", [1, 1200])
def test_line_break_does_not_group_thousands(text, count):
    values = ["1 234"] * (count - 1) + [text]
    amounts, problems = parse_amounts(values, range(2, count + 2), "amount")
    assert [(problem.row, problem.reason) for problem in problems] == [
        (count + 1, REASON_INVALID)
    ]
    assert np.isnan(amounts[-1])


def test_csv_quoted_line_break_amount_rejected():
    body = b'name,code,amount\r\nA,0111,"1\n234"\r\nB,0111,5\r\n'
    with pytest.raises(InputError) as caught:
        parse_holdings(body, "text/csv", InputLimits())
    assert [(problem.row, problem.field) for problem in caught.value.problems] == [
        (2, "amount")
    ]


# --- exponents with a decimal comma -------------------------------------------------


@pytest.mark.parametrize("other", ["1234,5", "1.234,5", "€ 5", "5"])
def test_semicolon_csv_comma_exponent_read_alike(other):
    # pandas reads 1,5E+03 in a plain semicolon column; the per-value rules
    # read it the same way whatever the other cells are.
    body = f"name;code;amount\r\nA;0111;{other}\r\nB;0111;1,5E+03\r\n".encode()
    holdings = parse_holdings(body, "text/csv", InputLimits())
    assert holdings.amounts[-1] == 1500.0


def test_json_comma_exponent_text_read():
    body = json.dumps({"holdings": [{"code": "0111", "amount": "1,5e3"}]}).encode()
    holdings = parse_holdings(body, "application/json", InputLimits())
    assert holdings.amounts.tolist() == [1500.0]


# A first group of thousands never starts with 0 ------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0,500"], [0.5]),
        (["0.500"], [0.5]),
        ([",500"], [0.5]),
        (["€ 0,500"], [0.5]),
        (["1234,567"], [1234.567]),
        # The leading zero shows the column's decimal separator.
        (["0,500", "2,125"], [0.5, 2.125]),
        (["2,125", "0,500"], [2.125, 0.5]),
        (["0.500", "1.234"], [0.5, 1.234]),
        # Without such a value, the default decimal separator decides.
        (["2,125"], [2125.0]),
    ],
)
@pytest.mark.parametrize("count", [1, ROWS])
def test_leading_zero_value_is_decimal(values, expected, count):
    texts = values * count

    amounts, problems = parse_amounts(texts, np.arange(2, len(texts) + 2), "amount")

    assert problems == []
    assert amounts.tolist() == expected * count


@pytest.mark.parametrize("count", [1, ROWS])
def test_leading_zero_grouping_rejected(count):
    values = ["0,001,000", "0.001,5", "0 500", "0'500", "€ 0 500"] * count

    amounts, problems = parse_amounts(values, np.arange(len(values)), "amount")

    assert len(problems) == len(values)
    assert {p.reason for p in problems} == {REASON_INVALID}
    assert np.isnan(amounts).all()


def test_space_grouping_kept():
    amounts, problems = parse_amounts(["1 050 000", "€ 10'500"], [2, 3], "amount")

    assert problems == []
    assert amounts.tolist() == [1_050_000.0, 10_500.0]


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("separator", [",", "."])
@pytest.mark.parametrize("count", [1, ROWS])
def test_csv_leading_zero_settles_column(delimiter, separator, count):
    values = [f"0{separator}500", f"2{separator}125"] * count

    amounts, problems = holdings_outcome(csv_body(values, delimiter))

    # 0,500 can only be a decimal, whatever the file's default separator.
    assert problems == []
    assert amounts == [0.5, 2.125] * count


@pytest.mark.parametrize("count", [1, ROWS])
def test_csv_leading_zero_against_column_rejected(count):
    values = ["1.234,56", "0.500"] * count

    amounts, problems = holdings_outcome(csv_body(values, ";"))

    # "." groups thousands in this column, and 0.500 groups nothing.
    assert amounts is None
    assert len(problems) == min(count, LIMITS.max_row_errors)
    assert {(row % 2, reason) for row, _, reason in problems} == {(1, REASON_INVALID)}


def test_negative_infinity_one_problem():
    _, problems = parse_amounts(["-inf"], [2], "amount")

    assert [(p.row, p.reason) for p in problems] == [
        (2, "amount is too large or not a number")
    ]
