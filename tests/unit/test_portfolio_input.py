"""Natural-capital holdings from CSV, multipart and JSON bodies, and amount parsing."""

from __future__ import annotations

import json
from pathlib import Path

import nature_risk.amounts as amounts_module
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nature_risk.amounts import (
    REASON_INVALID,
    REASON_NEGATIVE,
    REASON_NOT_FINITE,
    parse_amounts,
    parse_currency,
)
from nature_risk.classification import Classifier
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, NatureRiskError, PayloadTooLarge
from nature_risk.knowledge_base import load_knowledge_base
from nature_risk.portfolio_input import (
    HoldingsTable,
    natural_capital_template_csv,
    parse_holdings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMITS = InputLimits()
SECRET = "Zebra-Secret-4711"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def from_csv(body: bytes, limits: InputLimits = LIMITS) -> HoldingsTable:
    return parse_holdings(body, "text/csv", limits)


def from_json(document: object, limits: InputLimits = LIMITS) -> HoldingsTable:
    return parse_holdings(json.dumps(document).encode(), "application/json", limits)


def problems_of(body: bytes, content_type: str = "text/csv") -> list[dict]:
    with pytest.raises(InputError) as raised:
        parse_holdings(body, content_type, LIMITS)
    return [problem.to_dict() for problem in raised.value.problems]


def multipart(file_content: bytes, **fields: str) -> tuple[bytes, str]:
    chunks = [
        f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    chunks.append(
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    body = "".join(chunks).encode() + file_content + b"\r\n--XyZ--\r\n"
    return body, "multipart/form-data; boundary=XyZ"


# Spreadsheet habits --------------------------------------------------------


def test_csv_semicolon_decimal_comma():
    # Excel with a German or French locale: semicolons and decimal commas.
    body = "Name;Code;Betrag\r\nM\u00fcller AG;0111;1.234,56\r\nDupont;0112;12,5\r\n"

    holdings = from_csv(body.encode("cp1252"))

    assert holdings.amounts.tolist() == [1234.56, 12.5]
    assert holdings.names == ["M\u00fcller AG", "Dupont"]


def test_csv_decimal_comma_without_thousands():
    holdings = from_csv(b"name;code;amount\r\nA;0111;1234,56\r\nB;0112;7\r\n")

    assert holdings.amounts.tolist() == [1234.56, 7.0]


def test_csv_quoted_thousands_separators():
    body = b'name,code,amount\r\nA,0111,"1,234,567.89"\r\nB,0112,"2,000"\r\n'

    holdings = from_csv(body)

    assert holdings.amounts.tolist() == [1234567.89, 2000.0]


def test_csv_currency_symbols():
    body = (
        "name;code;amount\r\n"
        "A;0111;\u20ac 1.234,56\r\n"
        "B;0112;1.000 \u20ac\r\n"
        "C;0113;EUR 5\r\n"
    ).encode()

    holdings = from_csv(body)

    assert holdings.amounts.tolist() == [1234.56, 1000.0, 5.0]


def test_csv_space_and_apostrophe_thousands():
    body = "name;code;amount\r\nA;0111;1\u00a0234,5\r\nB;0112;1'000\r\n".encode()

    holdings = from_csv(body)

    assert holdings.amounts.tolist() == [1234.5, 1000.0]


def test_csv_accounting_dash_is_zero():
    holdings = from_csv(b'name,code,amount\r\nA,0111,"$ -   "\r\nB,0112,"$ 10.00"\r\n')

    assert holdings.amounts.tolist() == [0.0, 10.0]


def test_csv_header_aliases():
    body = b"Company Name,ISIC Code,Exposure (USD)\r\nA,0111,10\r\n"

    holdings = from_csv(body)

    assert holdings.codes == ["0111"]
    assert holdings.names == ["A"]
    assert holdings.amounts.tolist() == [10.0]
    assert holdings.currency == "USD"


def test_csv_excel_text_formula_code():
    holdings = from_csv(b'name,code\r\nA,="0111"\r\nB, 0112 \r\n')

    assert holdings.codes == ["0111", "0112"]


def test_csv_blank_rows_keep_row_numbers():
    body = b"name,code,amount\r\nA,0111,1\r\n\r\n , ,\t\r\n,,\r\nB,0112,2\r\n"

    holdings = from_csv(body)

    assert holdings.rows.tolist() == [2, 6]
    assert len(holdings) == 2


def test_csv_quoted_newline_keeps_row_numbers():
    body = b'name,code,amount\r\n"A\nFarms",0111,1\r\nB,,2\r\n'

    problems = problems_of(body)

    assert problems == [{"reason": "missing code", "row": 3, "field": "code"}]


def test_csv_bare_cr_line_endings():
    holdings = from_csv(b"name,code,amount\rA,0111,1\rB,0112,2\r")

    assert holdings.rows.tolist() == [2, 3]
    assert holdings.amounts.tolist() == [1.0, 2.0]


def test_csv_cp1252_euro_sign():
    body = "name;code;amount\r\nA;0111;12 \u20ac\r\n".encode("cp1252")

    holdings = from_csv(body)

    assert holdings.amounts.tolist() == [12.0]


def test_csv_oversize_gives_413():
    limits = InputLimits(max_body_bytes=64)

    with pytest.raises(PayloadTooLarge) as raised:
        from_csv(b"name,code\r\n" + b"A,0111\r\n" * 10, limits)

    assert raised.value.status == 413
    assert "64 bytes" in raised.value.message


def test_csv_too_many_rows_gives_413():
    with pytest.raises(PayloadTooLarge, match="2 rows"):
        from_csv(b"code\r\n1\r\n2\r\n3\r\n", InputLimits(max_rows=2))


# Amounts: equal weights and mixes ------------------------------------------


def test_no_amount_column_gives_equal_weight():
    holdings = from_csv(b"name,code\r\nA,0111\r\nB,0112\r\n")

    assert holdings.amounts is None


def test_empty_amount_column_gives_equal_weight():
    holdings = from_csv(b"name,code,amount\r\nA,0111,\r\nB,0112,\r\n")

    assert holdings.amounts is None


def test_amount_mix_names_rows_without_amount():
    body = b"name,code,amount\r\nA,0111,5\r\nB,0112,\r\nC,0113,7\r\nD,0114,\r\n"

    problems = problems_of(body)

    assert [problem["row"] for problem in problems] == [3, 5]
    assert {problem["field"] for problem in problems} == {"amount"}


def test_negative_amount_reported():
    problems = problems_of(b"name,code,amount\r\nA,0111,-5\r\nB,0112,(7)\r\n")

    assert problems == [
        {"reason": REASON_NEGATIVE, "row": 2, "field": "amount"},
        {"reason": REASON_NEGATIVE, "row": 3, "field": "amount"},
    ]


def test_amounts_adding_up_to_zero_rejected():
    problems = problems_of(b"name,code,amount\r\nA,0111,0\r\nB,0112,0\r\n")

    assert problems == [{"reason": "the amounts add up to zero", "field": "amount"}]


def test_invalid_amount_not_also_reported_missing():
    problems = problems_of(b"name,code,amount\r\nA,0111,abc\r\nB,0112,5\r\n")

    assert problems == [{"reason": REASON_INVALID, "row": 2, "field": "amount"}]


# Codes and the full list of problems ---------------------------------------


def test_missing_code_column_rejected():
    problems = problems_of(b"name,amount\r\nA,1\r\n")

    assert problems == [{"reason": "missing column", "row": 1, "field": "code"}]


def test_header_only_file_rejected():
    with pytest.raises(InputError, match="no holdings"):
        from_csv(b"name,code,amount\r\n")


def test_every_bad_row_reported():
    body = b"name,code,amount\r\nA,,1\r\nB,0112,x\r\nC,0113,2\r\nD,,-1\r\n"

    problems = problems_of(body)

    assert [(problem["row"], problem["field"]) for problem in problems] == [
        (2, "code"),
        (3, "amount"),
        (5, "amount"),
        (5, "code"),
    ]


@pytest.mark.parametrize("extra_row", [2, 3])
def test_extra_cells_reported_with_other_rows(extra_row):
    rows = ["B,0111,abc", "C,,5", "D,0111,-3"]
    rows.insert(extra_row - 2, "A,0111,abc,extra")
    body = ("name,code,amount\r\n" + "\r\n".join(rows) + "\r\n").encode()
    others = [row for row in (2, 3, 4, 5) if row != extra_row]

    problems = problems_of(body)

    assert [(problem["row"], problem.get("field")) for problem in problems] == sorted(
        [(extra_row, None)]
        + [(others[0], "amount"), (others[1], "code"), (others[2], "amount")]
    )
    assert problems[extra_row - 2]["reason"].startswith("more cells than the header")


def test_problems_capped_at_limit():
    body = b"name,code,amount\r\n" + b"A,,1\r\n" * 30
    limits = InputLimits(max_row_errors=10)

    with pytest.raises(InputError) as raised:
        from_csv(body, limits)

    assert len(raised.value.problems) == 10
    assert raised.value.truncated is True
    assert "portfolio: 30." in raised.value.message
    assert "first 10" in raised.value.message


def test_problems_never_quote_values():
    body = (
        f"name,code,amount,currency\r\n{SECRET},,{SECRET},{SECRET}\r\n"
        f"B,{SECRET},-{SECRET},EUR\r\n"
    ).encode()

    with pytest.raises(InputError) as raised:
        from_csv(body)

    assert SECRET not in raised.value.message
    assert SECRET not in json.dumps([p.to_dict() for p in raised.value.problems])


# Currency and options ------------------------------------------------------


def test_currency_column_single_value():
    holdings = from_csv(b"code,amount,currency\r\n0111,1,eur\r\n0112,2,EUR\r\n")

    assert holdings.currency == "EUR"


def test_currency_column_mixed_rejected():
    problems = problems_of(b"code,amount,currency\r\n0111,1,EUR\r\n0112,2,USD\r\n")

    assert problems == [
        {"reason": "every holding must have the same currency", "field": "currency"}
    ]


def test_currency_invalid_code_rejected():
    with pytest.raises(InputError) as raised:
        from_json({"currency": "EURO", "holdings": [{"code": "0111"}]})

    assert raised.value.problems[0].field == "currency"


def test_parse_currency_examples():
    assert parse_currency(" chf ") == "CHF"
    assert parse_currency("XYZ") is None
    assert parse_currency(978) is None


def test_multipart_currency_and_options():
    body, content_type = multipart(
        b"name,code,amount\r\nA,0111,1\r\n",
        currency="gbp",
        options='{"exclude_water_supply": true}',
    )

    holdings = parse_holdings(body, content_type, LIMITS)

    assert holdings.currency == "GBP"
    assert holdings.options == {"exclude_water_supply": True}
    assert holdings.rows.tolist() == [2]


def test_multipart_options_not_json_rejected():
    body, content_type = multipart(b"code\r\n0111\r\n", options="{not json")

    problems = problems_of(body, content_type)

    assert problems == [{"reason": "options must be a JSON object", "field": "options"}]


def test_multipart_options_nested_too_deeply():
    depth = 10_000
    body, content_type = multipart(
        b"code\r\n0111\r\n", options="[" * depth + "]" * depth
    )

    problems = problems_of(body, content_type)

    assert problems == [{"reason": "nested too deeply", "field": "options"}]


def test_json_options_must_be_flat():
    with pytest.raises(InputError) as raised:
        from_json({"holdings": [{"code": "0111"}], "options": {"a": {"b": 1}}})

    assert raised.value.problems[0].field == "options"


# JSON ----------------------------------------------------------------------


def test_json_same_holdings_as_csv():
    csv_holdings = from_csv(b"name,code,amount\r\nA,0111,1.5\r\nB,0112,2\r\n")
    json_holdings = from_json(
        {
            "holdings": [
                {"name": "A", "code": "0111", "amount": 1.5},
                {"name": "B", "code": "0112", "amount": "2"},
            ]
        }
    )

    assert json_holdings.names == csv_holdings.names
    assert json_holdings.codes == csv_holdings.codes
    assert json_holdings.amounts.tolist() == csv_holdings.amounts.tolist()
    assert json_holdings.rows.tolist() == [0, 1]


def test_json_amount_strings_with_euro():
    holdings = from_json(
        {
            "currency": "EUR",
            "holdings": [
                {"name": "A", "code": "0111", "amount": "1.234,56 \u20ac"},
                {"name": "B", "code": "0112", "amount": "2,5"},
            ],
            "options": {"exclude_water_supply": True},
        }
    )

    assert holdings.amounts.tolist() == [1234.56, 2.5]
    assert holdings.currency == "EUR"
    assert holdings.options == {"exclude_water_supply": True}


def test_json_integer_code_kept_as_text():
    holdings = from_json({"holdings": [{"code": 111}, {"code": "0112"}]})

    assert holdings.codes == ["111", "0112"]


def test_json_wrong_types_name_holding_fields():
    with pytest.raises(InputError) as raised:
        from_json({"holdings": [{"code": "0111", "amount": True}, {"code": ["0112"]}]})

    fields = [problem.field for problem in raised.value.problems]
    assert fields == ["holdings[0].amount", "holdings[1].code"]
    assert raised.value.status == 400


def test_json_row_problems_name_holding_index():
    with pytest.raises(InputError) as raised:
        from_json(
            {
                "holdings": [{"code": "0111", "amount": 1}]
                + [{"code": "0112", "amount": 1}] * 9
                + [{"code": "", "amount": -1}]
            }
        )

    fields = [problem.field for problem in raised.value.problems]
    assert fields == ["holdings[10].amount", "holdings[10].code"]


def test_json_empty_holdings_rejected():
    with pytest.raises(InputError, match="no holdings"):
        from_json({"holdings": []})


def test_json_infinite_amount_rejected():
    body = b'{"holdings": [{"code": "0111", "amount": 1e999}]}'

    problems = problems_of(body, "application/json")

    assert problems == [{"reason": REASON_NOT_FINITE, "field": "holdings[0].amount"}]


# Template and example ------------------------------------------------------


def test_template_parses_to_holdings():
    template = natural_capital_template_csv()

    holdings = from_csv(template)

    assert template.startswith(b"\xef\xbb\xbf")
    assert len(holdings) == 3
    assert holdings.amounts is not None


def test_template_and_example_codes_resolve(encore_dir: Path):
    kb = load_knowledge_base(encore_dir)
    classifier = Classifier(kb)
    example = (REPO_ROOT / "examples" / "portfolio.csv").read_bytes()

    for body in (natural_capital_template_csv(), example):
        holdings = from_csv(body)
        resolved = classifier.resolve_column(holdings.codes)
        unmatched = [code for code in holdings.codes if not resolved[code].matched]
        assert unmatched == []


# parse_amounts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", 1234.56),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("1 234,56", 1234.56),
        ("1'234.56", 1234.56),
        ("1.234.567", 1234567.0),
        ("1,234,567", 1234567.0),
        ("\u20ac 1.234,56", 1234.56),
        ("1234 EUR", 1234.0),
        ("1234 eur", 1234.0),
        ("US$1,000", 1000.0),
        ("CHF 1'000.50", 1000.5),
        ("\u00a31,000.00", 1000.0),
        ("0,5", 0.5),
        (".5", 0.5),
        ("1e6", 1e6),
        ("-", 0.0),
        ("EUR -", 0.0),
        ("+7", 7.0),
    ],
)
def test_parse_amounts_accepts(text, expected):
    amounts, problems = parse_amounts([text], [2], "amount")

    assert problems == []
    assert amounts.tolist() == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", REASON_INVALID),
        ("12 34", REASON_INVALID),
        ("1,2,3", REASON_INVALID),
        ("1.234.5", REASON_INVALID),
        ("(5", REASON_INVALID),
        ("nan", REASON_INVALID),
        ("5 apples", REASON_INVALID),
        ("5 abc", REASON_INVALID),
        ("abc -", REASON_INVALID),
        ("\u0661\u0662", REASON_INVALID),
        ("-5", REASON_NEGATIVE),
        ("(1.234,56)", REASON_NEGATIVE),
        ("5-", REASON_NEGATIVE),
        ("\u20ac-5", REASON_NEGATIVE),
        ("inf", REASON_NOT_FINITE),
        ("1e999", REASON_NOT_FINITE),
    ],
)
def test_parse_amounts_rejects(text, reason):
    amounts, problems = parse_amounts([text], [7], "amount")

    assert [(p.reason, p.row, p.field) for p in problems] == [(reason, 7, "amount")]
    assert np.isnan(amounts[0])


def test_parse_amounts_blank_is_nan_without_problem():
    amounts, problems = parse_amounts(["", "  ", "5"], [2, 3, 4], "amount")

    assert problems == []
    assert np.isnan(amounts[:2]).all()
    assert amounts[2] == 5.0


def test_parse_amounts_ambiguous_follows_column():
    # "1,234" reads as 1.234 when the column's other values use decimal commas.
    amounts, _ = parse_amounts(["1,234", "12,5"], [2, 3], "amount")
    assert amounts.tolist() == [1.234, 12.5]

    amounts, _ = parse_amounts(["1,234", "12.5"], [2, 3], "amount", decimal=",")
    assert amounts.tolist() == [1234.0, 12.5]


def test_parse_amounts_ambiguous_follows_decimal_hint():
    amounts, _ = parse_amounts(["1,234"], [2], "amount")
    assert amounts.tolist() == [1234.0]

    amounts, _ = parse_amounts(["1,234"], [2], "amount", decimal=",")
    assert amounts.tolist() == [1.234]

    amounts, _ = parse_amounts(["1.234"], [2], "amount", decimal=",")
    assert amounts.tolist() == [1234.0]


def test_parse_amounts_float_column_checked():
    amounts, problems = parse_amounts(
        np.array([1.5, -2.0, np.inf, np.nan]), [2, 3, 4, 5], "amount"
    )

    assert [(p.reason, p.row) for p in problems] == [
        (REASON_NEGATIVE, 3),
        (REASON_NOT_FINITE, 4),
    ]
    assert amounts[0] == 1.5
    assert np.isnan(amounts[1:]).all()


# Properties ----------------------------------------------------------------

CELL = st.text(
    alphabet=st.sampled_from(list("ab01 ,.;\"'-\u20ac\u00e9\t\n\r")), max_size=8
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    line_end=st.sampled_from(["\r\n", "\n", "\r"]),
)
def test_nothing_lost(rows, delimiter, line_end):
    """Every non-blank row becomes a holding or is named in a problem."""

    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    lines = [delimiter.join(["name", "code", "amount"])]
    lines += [delimiter.join(quote(cell) for cell in row) for row in rows]
    body = (line_end.join(lines) + line_end).encode()
    expected_rows = [
        index + 2 for index, row in enumerate(rows) if any(cell.strip() for cell in row)
    ]

    try:
        holdings = from_csv(body)
    except InputError as error:
        reported = {problem.row for problem in error.problems}
        assert reported <= set(expected_rows) | {None}
        assert reported
        return
    assert holdings.rows.tolist() == expected_rows
    assert len(holdings.codes) == len(expected_rows)


HOSTILE_PIECES = st.sampled_from(
    [
        b",",
        b";",
        b'"',
        b"\r",
        b"\n",
        b"a",
        b"1",
        b",5",
        b".",
        b"-",
        b"(",
        b"\xe2\x82\xac",
        b"\xa0",
        b"\x80",
        b"\xff\xfe",
        b"code",
        b"amount",
        b"name",
        b"currency",
        b'="',
        b'{"holdings":[',
        b'{"code":',
        b"]}",
        b"null",
        b"true",
        b"1e999",
        b"--XyZ",
        b"\r\n\r\n",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(HOSTILE_PIECES, max_size=60).map(b"".join),
        st.lists(HOSTILE_PIECES, max_size=60).map(
            lambda p: b"code,amount\r\n" + b"".join(p)
        ),
    ),
    content_type=st.sampled_from(
        [
            "text/csv",
            "application/json",
            "multipart/form-data; boundary=XyZ",
            "text/html",
        ]
    ),
)
def test_hostile_bytes_raise_only_domain_errors(body, content_type):
    try:
        holdings = parse_holdings(body, content_type, LIMITS)
    except NatureRiskError as error:
        assert 400 <= error.status < 500
        return
    assert len(holdings.rows) == len(holdings.codes) == len(holdings.names)
    if holdings.amounts is not None:
        assert len(holdings.amounts) == len(holdings.codes)
        assert np.isfinite(holdings.amounts).all()
        assert (holdings.amounts >= 0).all()


WRITTEN_AMOUNT = st.one_of(
    st.floats(min_value=0, max_value=1e9, allow_nan=False).map(
        lambda value: (
            f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        )
    ),
    st.floats(min_value=0, max_value=1e9, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st.integers(min_value=0, max_value=10**7).map(str),
    st.sampled_from(
        [
            "",
            "1.234",
            "1,234",
            "12,5",
            "12.5",
            "1.2.3",
            "-5",
            "(5)",
            "€ 7",
            "7 €",
            "US$3",
            "1 234,5",
            "12 34",
            "1234.567.8",
            "0.123.456",
            ",5",
            "5,",
            ".",
            ",",
            "nan",
            "1.234.567,89",
            "1,234,567.89",
            "1e5",
            "abc",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    common=WRITTEN_AMOUNT,
    odd=st.lists(st.tuples(st.integers(0, 1199), WRITTEN_AMOUNT), max_size=5),
    decimal=st.sampled_from([".", ","]),
)
def test_uniform_column_path_matches_per_value(
    common, odd, decimal, monkeypatch_module
):
    """The one-format fast path gives the per-value path's amounts and problems."""
    values = [common] * 1200
    for position, value in odd:
        values[position] = value
    rows = np.arange(2, 1202)

    fast_amounts, fast_problems = parse_amounts(values, rows, "amount", decimal=decimal)
    monkeypatch_module.setattr(amounts_module, "_SHAPE_PATH_MIN_VALUES", 10**9)
    slow_amounts, slow_problems = parse_amounts(values, rows, "amount", decimal=decimal)
    monkeypatch_module.undo()

    np.testing.assert_array_equal(fast_amounts, slow_amounts)
    assert fast_problems == slow_problems


def test_uniform_column_path_reads_european_amounts():
    values = ["1.234,56", "987,5", "", "12.345.678,9"] * 300

    amounts, problems = parse_amounts(values, np.arange(len(values)), "amount")

    assert problems == []
    assert amounts[:4].tolist()[:2] == [1234.56, 987.5]
    assert np.isnan(amounts[2])
    assert amounts[3] == 12345678.9


@pytest.mark.parametrize(
    ("header", "currency"),
    [
        ("Amount (EUR)", "EUR"),
        ("amount_usd", "USD"),
        ("Market Value (EUR m)", "EUR"),
        ("Amount (€)", "EUR"),
        ("Betrag (€)", "EUR"),
        ("Amount US$", "USD"),
        ("Amount in chf", "CHF"),
        ("Amount ($)", None),
        ("Exposure (net)", None),
        ("Weight (%)", None),
        ("Weight (PCT)", None),
        ("Amount (MIO)", None),
        ("MV", None),
    ],
)
def test_amount_header_currency(header, currency):
    body = f"name,code,{header}\r\nA,0111,5\r\nB,0112,7\r\n".encode()

    holdings = from_csv(body)

    assert holdings.currency == currency
    assert holdings.amounts.tolist() == [5.0, 7.0]


@pytest.mark.parametrize(
    ("key", "currency"), [("Amount (€)", "EUR"), ("Market Value (EUR m)", "EUR")]
)
def test_json_amount_key_currency(key, currency):
    holdings = from_json({"holdings": [{"code": "0111", key: 5}]})

    assert holdings.currency == currency


@pytest.mark.parametrize(
    "header", ["Amount (EUR/USD)", "Amount EUR USD", "Amount (€/$)"]
)
def test_amount_header_two_currencies_rejected(header):
    body = f"name,code,{header}\r\nA,0111,5\r\n".encode()

    assert problems_of(body) == [
        {"reason": "the amount header names more than one currency", "field": "amount"}
    ]


@pytest.mark.parametrize("header", ["Amount (GBp)", "Amount GBX", "Market Value (GBp)"])
def test_amount_header_in_pence_rejected(header):
    body = f"name,code,{header}\r\nA,0111,5\r\n".encode()

    assert problems_of(body) == [
        {
            "reason": "the amount header names pence (GBp or GBX): give pounds",
            "field": "amount",
        }
    ]


def test_amount_header_in_pounds_accepted():
    holdings = from_csv(b"name,code,Amount (GBP)\r\nA,0111,5\r\n")

    assert holdings.currency == "GBP"


OTHER_CURRENCY = "the amount header names another currency than the portfolio's"


def test_amount_header_against_currency_column():
    body = b"name,code,currency,Amount (EUR)\r\nA,0111,USD,5\r\n"

    assert problems_of(body) == [{"reason": OTHER_CURRENCY, "field": "amount"}]


def test_json_amount_key_against_currency_field():
    body = json.dumps(
        {"currency": "USD", "holdings": [{"code": "0111", "Amount (EUR)": 5}]}
    ).encode()

    assert problems_of(body, "application/json") == [
        {"reason": OTHER_CURRENCY, "field": "amount"}
    ]


def test_dollar_header_fits_declared_dollars():
    holdings = from_json(
        {"currency": "CAD", "holdings": [{"code": "0111", "Amount ($)": 5}]}
    )

    assert holdings.currency == "CAD"


def test_json_amount_longer_than_int_limit():
    # Python's int() takes at most 4,300 digits by default.
    body = b'{"holdings": [{"code": "0111", "amount": ' + b"9" * 5000 + b"}]}"

    problems = problems_of(body, "application/json")

    assert problems == [
        {"reason": "amount is too large or not a number", "field": "holdings[0].amount"}
    ]


NO_SINGLE_CURRENCY = {
    "reason": "the amount names two currencies, or pence (GBp or GBX):"
    " give one currency",
    "row": 2,
    "field": "amount",
}


@pytest.mark.parametrize("cell", ["€5 USD", "EUR 5 USD", "5 GBp"])
def test_amount_without_single_currency_rejected(cell):
    body = f'name,code,amount\r\nA,0111,"{cell}"\r\nB,0112,5\r\n'.encode()

    assert problems_of(body) == [NO_SINGLE_CURRENCY]


def test_amount_in_gbx_rejected():
    body = b'name,code,amount\r\nA,0111,"5 GBX"\r\nB,0112,5\r\n'

    assert NO_SINGLE_CURRENCY in problems_of(body)


@pytest.mark.parametrize(
    ("cell", "currency"), [("US$ 5 USD", "USD"), ("$5 CAD", "CAD")]
)
def test_amount_with_agreeing_currencies_accepted(cell, currency):
    holdings = from_csv(f'name,code,amount\r\nA,0111,"{cell}"\r\n'.encode())

    assert holdings.amounts.tolist() == [5.0]
    assert holdings.currency == currency


@pytest.mark.parametrize("currency", ["GBp", "GBX", "gbx"])
def test_pence_currency_field_rejected(currency):
    body = f"name,code,amount,currency\r\nA,0111,5,{currency}\r\n".encode()

    assert problems_of(body) == [
        {"reason": "invalid currency: expected an ISO 4217 code", "field": "currency"}
    ]


@pytest.mark.parametrize("header", ["amount_gbx", "Amount (GBP pence)"])
def test_amount_header_pence_spellings_rejected(header):
    body = f"name,code,{header}\r\nA,0111,5\r\n".encode()

    assert [problem["field"] for problem in problems_of(body)] == ["amount"]
