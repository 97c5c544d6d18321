"""Hostile and unusual uploads on every dashboard route, through the handler.

Each case sends the event API Gateway delivers and checks the status and the
problem list, so content can never cause a 500, a lost row or a body that is
not strict JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nature_risk.api import json_body

from tests.events import (
    csv_event,
    http_event,
    json_event,
    lambda_context,
    multipart_event,
)
from tests.functions import load_function

NATURAL_CAPITAL = "/dashboards/natural-capital"
MINING = "/dashboards/mining"
AGRICULTURE = "/dashboards/agriculture"

# One valid CSV header and row per route, so a case can prepend or change lines.
CSV_BY_PATH = {
    NATURAL_CAPITAL: "name,code,amount\nfoo,0111,5\n",
    MINING: "name,latitude,longitude,amount\nfoo,-24.27,-69.07,5\n",
    AGRICULTURE: "company,commodity,country,area_hectares,amount\nfoo,wheat,FR,10,5\n",
}
RECORDS_BY_PATH = {
    NATURAL_CAPITAL: ("holdings", {"code": "0111"}),
    MINING: ("assets", {"latitude": -24.27, "longitude": -69.07}),
    AGRICULTURE: (
        "holdings",
        {"commodity": "wheat", "country": "FR", "area_hectares": 10},
    ),
}
PATHS = list(CSV_BY_PATH)


@pytest.fixture(scope="module")
def dashboard(encore_dir: Path, biodiversity_dir: Path) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        patch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
        yield load_function("dashboard")


def call(dashboard: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return dashboard.lambda_handler(event, lambda_context())


def body_of(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return json.loads(body, parse_constant=_reject_constant)


def _reject_constant(name: str) -> object:
    raise AssertionError("the response body is not strict JSON")


def problems_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    return body_of(response)["error"]["problems"]


def as_multipart(path: str, content: bytes) -> dict[str, Any]:
    return multipart_event(path, {"file": ("portfolio.csv", content, "text/csv")})


# sep= lines -----------------------------------------------------------------

UNUSABLE_SEPARATORS = ["\u00e9", "\u00a0", "\u2028", "\u0085", "\u20ac"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("separator", UNUSABLE_SEPARATORS)
@pytest.mark.parametrize("multipart", [False, True], ids=["csv", "multipart"])
def test_sep_line_non_ascii_is_400(dashboard, path, separator, multipart):
    content = f"sep={separator}\n{CSV_BY_PATH[path]}".encode()
    event = as_multipart(path, content) if multipart else csv_event(path, content)

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {"reason": "unsupported separator in the sep= line"}
    ]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("lines", "row"),
    [(['"foo{rest}', "bar{rest}"], 2), (["foo{rest}", '"bar{rest}', "baz{rest}"], 3)],
    ids=["first-row", "middle-row"],
)
def test_unclosed_quote_names_opening_row(dashboard, path, lines, row):
    header, first = CSV_BY_PATH[path].splitlines()
    rest = first.removeprefix("foo")
    content = "\n".join([header, *(line.format(rest=rest) for line in lines)]) + "\n"

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {"reason": "invalid CSV quoting (an unclosed or stray quote)", "row": row}
    ]


@pytest.mark.parametrize("path", PATHS)
def test_inch_mark_in_unquoted_cell_accepted(dashboard, path):
    header, first = CSV_BY_PATH[path].splitlines()
    content = f'{header}\n12" {first}\n'

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 200


# Amount limits and strict JSON ------------------------------------------------


def test_amount_above_maximum_rejected(dashboard):
    payload = {
        "holdings": [{"code": "0111", "amount": 1e308}, {"code": "0112", "amount": 1}]
    }

    response = call(dashboard, json_event(NATURAL_CAPITAL, payload))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "amount is larger than the maximum of 1e18",
            "field": "holdings[0].amount",
        }
    ]


@pytest.mark.parametrize("path", [MINING, AGRICULTURE])
def test_biodiversity_amount_above_maximum_rejected(dashboard, path):
    header, row = CSV_BY_PATH[path].splitlines()
    content = f"{header}\n{row[:-1]}1e308\n{row[:-1]}1e308\n"

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 400
    rows = [problem.get("row") for problem in problems_of(response)]
    assert rows == [2, 3]


def test_sums_at_maximum_stay_finite(dashboard):
    holdings = [{"code": code, "amount": 1e18} for code in ("0111", "0112") * 50]

    response = call(dashboard, json_event(NATURAL_CAPITAL, {"holdings": holdings}))

    assert response["statusCode"] == 200
    assert body_of(response)["totals"]["exposure"] == pytest.approx(1e20)


def test_json_body_rejects_non_finite():
    with pytest.raises(ValueError):
        json_body({"total": float("inf")})
    with pytest.raises(ValueError):
        json_body({"share": float("nan")})


# Nothing dropped unreported ---------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_repeated_header_rejected(dashboard, path):
    header, row = CSV_BY_PATH[path].splitlines()
    first = header.split(",")[1]
    content = f"{header},{first.upper()}\n{row},x\n"

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 400
    position = header.count(",") + 2
    assert problems_of(response) == [
        {
            "reason": f"duplicate column: column {position} has the same header"
            " as column 2",
            "row": 1,
        }
    ]


def test_repeated_amount_header_rejected(dashboard):
    content = "code,amount,amount\n0111,5,6\n"

    response = call(dashboard, csv_event(NATURAL_CAPITAL, content))

    assert response["statusCode"] == 400
    assert problems_of(response)[0]["reason"] == (
        "duplicate column: column 3 has the same header as column 2"
    )


def test_json_keys_differing_in_case_rejected(dashboard):
    payload = {"holdings": [{"code": "0111", "Code": "0112"}]}

    response = call(dashboard, json_event(NATURAL_CAPITAL, payload))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "duplicate field: another key of the object names the same"
            " field once case and punctuation are ignored",
            "field": "holdings[0].code",
        }
    ]


def test_json_key_repeated_exactly_rejected(dashboard):
    body = b'{"holdings": [{"code": "0111", "code": "0112"}]}'
    event = csv_event(NATURAL_CAPITAL, body, content_type="application/json")

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": "repeated key", "field": "body"}]


def test_keys_in_other_records_share_column(dashboard):
    payload = {"holdings": [{"code": "0111"}, {"Code": "0112"}]}

    response = call(dashboard, json_event(NATURAL_CAPITAL, payload))

    assert response["statusCode"] == 200
    assert body_of(response)["totals"]["holdings"] == 2


# CPython 3.13's json decoder raises RecursionError from 10,000 levels on.
TOO_DEEP = 10_008


def deep_json_body(path: str, where: str) -> bytes:
    """Build a valid upload with arrays nested TOO_DEEP levels at ``where``."""
    records_field, record = RECORDS_BY_PATH[path]
    document: dict[str, Any] = {records_field: [{**record, "amount": 5}]}
    if where == "top level":
        document["x"] = "NESTED"
    elif where == "options":
        document["options"] = {"a": "NESTED"}
    else:
        document[records_field][0][where] = "NESTED"
    nested = "[" * TOO_DEEP + "]" * TOO_DEEP
    return json.dumps(document).replace('"NESTED"', nested).encode()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("where", ["top level", "options", "amount"])
def test_json_nested_too_deeply_rejected(dashboard, path, where):
    body = deep_json_body(path, where)
    event = csv_event(path, body, content_type="application/json")

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert "nested too deeply" in body_of(response)["error"]["message"]
    assert problems_of(response) == [{"reason": "nested too deeply", "field": "body"}]


@pytest.mark.parametrize("path", PATHS)
def test_options_text_nested_too_deeply_rejected(dashboard, path):
    files = {"file": ("p.csv", CSV_BY_PATH[path].encode(), "text/csv")}
    options = "[" * TOO_DEEP + "]" * TOO_DEEP

    response = call(dashboard, multipart_event(path, files, {"options": options}))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {"reason": "nested too deeply", "field": "options"}
    ]


# Options ---------------------------------------------------------------------

INVALID_OPTIONS_TEXT = [
    ("{not json", "options must be a JSON object"),
    ('["a"]', "options must be an object"),
    ('{"a": {"b": 1}}', "option values must be true, false, numbers or strings"),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("text", "reason"), INVALID_OPTIONS_TEXT)
def test_invalid_options_text_rejected(dashboard, path, text, reason):
    files = {"file": ("p.csv", CSV_BY_PATH[path].encode(), "text/csv")}

    response = call(dashboard, multipart_event(path, files, {"options": text}))

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": reason, "field": "options"}]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["a"], "options must be an object"),
        (5, "options must be an object"),
        ({f"key{index}": 1 for index in range(33)}, "options has more than 32 fields"),
    ],
)
def test_invalid_json_options_rejected(dashboard, path, options, reason):
    records_field, record = RECORDS_BY_PATH[path]
    payload = {records_field: [record], "options": options}

    response = call(dashboard, json_event(path, payload))

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": reason, "field": "options"}]


@pytest.mark.parametrize("path", PATHS)
def test_valid_options_accepted(dashboard, path):
    files = {"file": ("p.csv", CSV_BY_PATH[path].encode(), "text/csv")}
    fields = {"options": '{"exclude_water_supply": true, "note": "x"}'}

    response = call(dashboard, multipart_event(path, files, fields))

    assert response["statusCode"] == 200


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("second_name", ["file", "other"])
def test_second_file_part_rejected(dashboard, path, second_name):
    content = CSV_BY_PATH[path].encode()
    first_name = "file" if second_name == "file" else "upload"
    files = {first_name: ("a.csv", content, "text/csv")}
    event = multipart_event(path, files)
    body = base64.b64decode(event["body"])
    boundary = body.split(b"\r\n", 1)[0]
    extra = (
        boundary
        + b'\r\nContent-Disposition: form-data; name="'
        + second_name.encode()
        + b'"; filename="b.csv"\r\nContent-Type: text/csv\r\n\r\n'
        + content
        + b"\r\n"
    )
    event["body"] = base64.b64encode(extra + body).decode()

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {"reason": "2 files sent, expected 1", "field": "file"}
    ]


def test_repeated_form_field_rejected(dashboard):
    content = CSV_BY_PATH[NATURAL_CAPITAL].encode()
    event = multipart_event(NATURAL_CAPITAL, {"file": ("a.csv", content, "text/csv")})
    body = base64.b64decode(event["body"])
    boundary = body.split(b"\r\n", 1)[0]
    field = (
        boundary + b'\r\nContent-Disposition: form-data; name="currency"\r\n\r\nEUR\r\n'
    )
    event["body"] = base64.b64encode(field + field + body).decode()

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {"reason": "repeated form field", "field": "currency"}
    ]


# Keys from the body never come back -----------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_unknown_json_key_not_echoed(dashboard, path):
    records_field, record = RECORDS_BY_PATH[path]
    payload = {records_field: [{**record, "ZQXMARKWVQJ": [1]}]}

    response = call(dashboard, json_event(path, payload))

    assert response["statusCode"] == 400
    assert "zqxmarkwvqj" not in response["body"].lower()
    position = len(record) + 1
    assert problems_of(response) == [
        {
            "reason": f"unknown field (key {position} of the object): must be a"
            " string or a number",
            "field": f"{records_field}[0]",
        }
    ]


def test_known_json_key_named(dashboard):
    payload = {"holdings": [{"code": "0111", "amount": [1]}]}

    response = call(dashboard, json_event(NATURAL_CAPITAL, payload))

    assert problems_of(response) == [
        {"reason": "must be a string or a number", "field": "holdings[0].amount"}
    ]


@pytest.mark.parametrize(
    ("path", "key"),
    [(MINING, "latitude"), (MINING, "status"), (AGRICULTURE, "commodity")],
)
def test_biodiversity_known_json_key_named(dashboard, path, key):
    records_field, record = RECORDS_BY_PATH[path]
    payload = {records_field: [{**record, key: [1]}]}

    response = call(dashboard, json_event(path, payload))

    assert problems_of(response)[0] == {
        "reason": "must be a string or a number",
        "field": f"{records_field}[0].{key}",
    }


# Number parsing ---------------------------------------------------------------

LENIENT_NUMBERS = ["4_5", "\u0664\u0665", "nan", "inf", "-Infinity", "0x10", "\u00a045"]


@pytest.mark.parametrize("cell", LENIENT_NUMBERS)
@pytest.mark.parametrize("source", ["csv", "json"])
def test_coordinate_not_a_number(dashboard, cell, source):
    if source == "csv":
        content = f"latitude,longitude\n{cell},-69.07\n-24.27,-69.07\n"
        event = csv_event(MINING, content)
        where = {"row": 2, "field": "latitude"}
    else:
        assets = [{"latitude": cell, "longitude": -69.07}]
        event = json_event(MINING, {"assets": assets})
        where = {"field": "assets[0].latitude"}

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": "not a number", **where}]


def test_coordinate_infinity_in_numeric_column(dashboard):
    # Plain numbers in the first rows send the column to pandas' float reader.
    rows = "".join("-24.27,-69.07\n" for _ in range(60))
    content = f"latitude,longitude\n{rows}inf,-69.07\n"

    response = call(dashboard, csv_event(MINING, content))

    assert problems_of(response) == [
        {"reason": "not a number", "row": 62, "field": "latitude"}
    ]


@pytest.mark.parametrize("path", [MINING, AGRICULTURE])
@pytest.mark.parametrize("cell", ["4_5", "\u0664\u0665", "nan", "inf"])
def test_biodiversity_amount_not_a_number(dashboard, path, cell):
    header, row = CSV_BY_PATH[path].splitlines()
    content = f"{header}\n{row[:-1]}{cell}\n"

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 400
    assert [problem["field"] for problem in problems_of(response)] == ["amount"]


# Currencies written in amount cells -------------------------------------------


def test_mixed_cell_currencies_rejected(dashboard):
    content = "code,amount\n0111,5 USD\n0112,7 EUR\n"

    response = call(dashboard, csv_event(NATURAL_CAPITAL, content))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "the amount's currency differs from the currency of an"
            " earlier amount",
            "row": 3,
            "field": "amount",
        }
    ]


@pytest.mark.parametrize("declared", ["column", "form", "json"])
def test_cell_currency_other_than_portfolio_rejected(dashboard, declared):
    if declared == "column":
        event = csv_event(NATURAL_CAPITAL, "code,amount,currency\n0111,5 USD,EUR\n")
        where = {"row": 2, "field": "amount"}
    elif declared == "form":
        content = b"code,amount\n0111,5 USD\n"
        event = multipart_event(
            NATURAL_CAPITAL,
            {"file": ("a.csv", content, "text/csv")},
            {"currency": "EUR"},
        )
        where = {"row": 2, "field": "amount"}
    else:
        payload = {"currency": "EUR", "holdings": [{"code": "0111", "amount": "5 USD"}]}
        event = json_event(NATURAL_CAPITAL, payload)
        where = {"field": "holdings[0].amount"}

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "the amount's currency differs from the portfolio's currency",
            **where,
        }
    ]


@pytest.mark.parametrize("cell", ["5 XYZ", "5 ABC"])
def test_unknown_cell_currency_rejected(dashboard, cell):
    content = f"code,amount\n0111,{cell}\n"

    response = call(dashboard, csv_event(NATURAL_CAPITAL, content))

    assert response["statusCode"] == 400
    assert [problem["row"] for problem in problems_of(response)] == [2]


@pytest.mark.parametrize(
    ("cells", "currency"),
    [
        (["€ 5", "7 EUR", "1.234,56 €"], "EUR"),
        (["US$5", "$7", "7 usd"], "USD"),
        (["$5", "$7"], None),
        (["R$ 5", "7 BRL"], "BRL"),
        (["5", "7 GBP"], "GBP"),
    ],
)
def test_same_currency_cells_accepted(dashboard, cells, currency):
    holdings = [
        {"code": code, "amount": cell}
        for code, cell in zip(("0111", "0112", "0113"), cells, strict=False)
    ]

    response = call(dashboard, json_event(NATURAL_CAPITAL, {"holdings": holdings}))

    assert response["statusCode"] == 200
    assert body_of(response)["currency"] == currency


def test_dollar_symbol_matches_declared_dollar_currency(dashboard):
    content = "code,amount,currency\n0111,$5,CAD\n0112,C$7,CAD\n"

    response = call(dashboard, csv_event(NATURAL_CAPITAL, content))

    assert response["statusCode"] == 200
    assert body_of(response)["currency"] == "CAD"


@pytest.mark.parametrize("path", [MINING, AGRICULTURE])
def test_biodiversity_mixed_cell_currencies_rejected(dashboard, path):
    header, row = CSV_BY_PATH[path].splitlines()
    content = f"{header}\n{row} USD\n{row} EUR\n"

    response = call(dashboard, csv_event(path, content))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "the amount's currency differs from the currency of an"
            " earlier amount",
            "row": 3,
            "field": "amount",
        }
    ]


@pytest.mark.parametrize("cell", ["10 EUR", "€10"])
def test_quantity_with_currency_rejected(dashboard, cell):
    content = f"company,commodity,country,area_hectares\nfoo,wheat,FR,{cell}\n"

    response = call(dashboard, csv_event(AGRICULTURE, content))

    assert response["statusCode"] == 400
    assert problems_of(response) == [
        {
            "reason": "a quantity cannot have a currency",
            "row": 2,
            "field": "area_hectares",
        }
    ]


# One rule for every route and every way of sending ------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("source", ["csv", "json"])
def test_no_records_rejected(dashboard, path, source):
    records_field, _ = RECORDS_BY_PATH[path]
    if source == "csv":
        event = csv_event(path, CSV_BY_PATH[path].splitlines()[0] + "\n")
        where = {}
    else:
        event = json_event(path, {records_field: []})
        where = {"field": records_field}

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    what = "assets" if path == MINING else "holdings"
    assert problems_of(response) == [{"reason": f"no {what}", **where}]


@pytest.mark.parametrize(
    ("charset", "codec"),
    [
        ("utf-16le", "utf-16-le"),
        ("UTF-16BE", "utf-16-be"),
        ("utf-16", "utf-16-le"),
        ("windows-1252", "cp1252"),
        ("iso-8859-1", "latin-1"),
        ('"utf-8"', "utf-8"),
    ],
)
@pytest.mark.parametrize("path", PATHS)
def test_charset_parameter_honoured(dashboard, path, charset, codec):
    header, row = CSV_BY_PATH[path].splitlines()
    content = f"{header}\n{row.replace('foo', 'Caf\u00e9')}\n".encode(codec)
    event = csv_event(path, content, content_type=f"text/csv; charset={charset}")

    response = call(dashboard, event)

    assert response["statusCode"] == 200


def test_charset_of_file_part_honoured(dashboard):
    content = CSV_BY_PATH[NATURAL_CAPITAL].encode("utf-16-le")
    files = {"file": ("a.csv", content, "text/csv; charset=utf-16le")}

    response = call(dashboard, multipart_event(NATURAL_CAPITAL, files))

    assert response["statusCode"] == 200


@pytest.mark.parametrize("path", PATHS)
def test_unknown_charset_is_415(dashboard, path):
    event = csv_event(
        path, CSV_BY_PATH[path], content_type="text/csv; charset=x-ZQXMARK"
    )

    response = call(dashboard, event)

    assert response["statusCode"] == 415
    assert "zqxmark" not in response["body"].lower()


def test_json_charset_other_than_utf8_is_415(dashboard):
    body = json.dumps({"holdings": [{"code": "0111"}]}).encode("utf-16")
    event = csv_event(
        NATURAL_CAPITAL, body, content_type="application/json; charset=utf-16"
    )

    response = call(dashboard, event)

    assert response["statusCode"] == 415


def test_text_invalid_in_declared_charset_rejected(dashboard):
    content = CSV_BY_PATH[NATURAL_CAPITAL].encode() + b"\xff\xfe\n"
    event = csv_event(NATURAL_CAPITAL, content, content_type="text/csv; charset=utf-8")

    response = call(dashboard, event)

    assert response["statusCode"] == 400


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cut", ["closing", "part"])
def test_truncated_multipart_named(dashboard, path, cut):
    event = as_multipart(path, CSV_BY_PATH[path].encode())
    body = base64.b64decode(event["body"])
    body = body[: body.rindex(b"--\r\n")] if cut == "closing" else body[:-40]
    boundary_line = body.split(b"\r\n", 1)[0]
    if cut == "closing":
        body = body[: body.rindex(boundary_line)]
    event["body"] = base64.b64encode(body).decode()

    response = call(dashboard, event)

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": "truncated body", "field": "body"}]


@pytest.mark.parametrize("value", ["", "perhaps"])
def test_flag_rejected_alike_in_query_and_body(dashboard, value):
    payload = {"holdings": [{"code": "0111"}]}
    in_query = json_event(
        NATURAL_CAPITAL, payload, query={"exclude_water_supply": value}
    )
    in_body = json_event(
        NATURAL_CAPITAL, {**payload, "options": {"exclude_water_supply": value}}
    )

    query_response = call(dashboard, in_query)
    body_response = call(dashboard, in_body)

    assert query_response["statusCode"] == 422
    assert body_response["statusCode"] == 400


@pytest.mark.parametrize("value", ["t", "Y", "off", "1"])
def test_flag_words_alike_in_query_and_body(dashboard, value):
    payload = {"holdings": [{"code": "0111"}]}
    in_query = json_event(
        NATURAL_CAPITAL, payload, query={"exclude_water_supply": value}
    )
    in_body = json_event(
        NATURAL_CAPITAL, {**payload, "options": {"exclude_water_supply": value}}
    )

    query_options = body_of(call(dashboard, in_query))["options"]
    body_options = body_of(call(dashboard, in_body))["options"]

    assert query_options == body_options


# Media types ---------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/vnd.ms-excel", ""],
)
def test_body_media_types_alike_on_every_route(dashboard, path, content_type):
    event = csv_event(path, CSV_BY_PATH[path], content_type=content_type)

    response = call(dashboard, event)

    assert response["statusCode"] == 415


@pytest.mark.parametrize("path", PATHS)
def test_empty_body_alike_on_every_route(dashboard, path):
    response = call(dashboard, csv_event(path, " \n"))

    assert response["statusCode"] == 400
    assert problems_of(response) == [{"reason": "missing", "field": "body"}]


@pytest.mark.parametrize("path", PATHS)
def test_json_file_part_is_415(dashboard, path):
    records_field, record = RECORDS_BY_PATH[path]
    content = json.dumps({records_field: [record]}).encode()
    files = {"file": ("p.json", content, "application/json")}

    response = call(dashboard, multipart_event(path, files))

    assert response["statusCode"] == 415


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("file_type", ["application/vnd.ms-excel", "text/plain"])
def test_csv_file_part_labels_accepted(dashboard, path, file_type):
    files = {"file": ("p.csv", CSV_BY_PATH[path].encode(), file_type)}

    response = call(dashboard, multipart_event(path, files))

    assert response["statusCode"] == 200


def test_openapi_documents_accepted_media_types(dashboard):
    from nature_risk.media_types import CSV_MEDIA_TYPES

    document = dashboard.openapi_document(dashboard.app)
    for path in PATHS:
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert sorted(content) == [
            "application/json",
            "multipart/form-data",
            "text/csv",
        ]
        file_types = content["multipart/form-data"]["encoding"]["file"]["contentType"]
        assert set(file_types.split(", ")) == set(CSV_MEDIA_TYPES)
        assert 415 in {
            int(status) for status in document["paths"][path]["post"]["responses"]
        }


@pytest.mark.parametrize("parameter", ["limit", "offset"])
@pytest.mark.parametrize("value", ["4_5", " 5", "\u0665", "1e1", ""])
def test_reference_paging_takes_ascii_digits(dashboard, parameter, value):
    event = http_event(
        "GET", "/reference/economic-activities", query={parameter: value}
    )

    response = call(dashboard, event)

    assert response["statusCode"] == 422
    assert problems_of(response) == [
        {"field": f"query.{parameter}", "reason": "must be a whole number"}
    ]


def test_reference_paging_plain_digits_accepted(dashboard):
    query = {"limit": "5", "offset": "0"}
    event = http_event("GET", "/reference/economic-activities", query=query)

    response = call(dashboard, event)

    assert response["statusCode"] == 200
