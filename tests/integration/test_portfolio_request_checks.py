"""The portfolio function's checks of subjects, If-Match, query values and options.

Each test calls ``lambda_handler`` with the event API Gateway would send, on
the TLS-only PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.events import json_event, lambda_context, multipart_body
from tests.functions import load_function
from tests.integration.test_portfolio_routes import (  # noqa: F401 - fixture
    BOB,
    PORTFOLIO,
    ROUTES,
    biodiversity_environment,
    body_of,
    call,
    create,
    one,
)


@pytest.fixture
def portfolio_function(
    database_secret: str, encore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The portfolio function, loaded fresh with the DB_* settings of the test."""
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    module = load_function("portfolio", fresh=True)
    yield module
    module.reset_database()


# Subjects ----------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    ["nul\u0000x", "tab\tx", "del\u007fx", "c1\u0085x", "sur\ud800x", "x" * 256],
    ids=["nul", "tab", "del", "c1-control", "lone-surrogate", "too-long"],
)
def test_subject_with_control_unauthorized(
    portfolio_function: ModuleType, subject: str
) -> None:
    for method, path, route_key, payload in ROUTES:
        response = call(
            portfolio_function,
            method,
            path,
            route_key,
            claims={"sub": subject},
            payload=payload,
        )
        assert response["statusCode"] == 401, route_key


def test_subject_with_unicode_allowed(portfolio_function: ModuleType) -> None:
    claims = {"sub": "Zoë-🌳-" + "x" * 240}
    created = create(portfolio_function, claims=claims)
    response = call(
        portfolio_function, "GET", "/portfolios", "GET /portfolios", claims=claims
    )
    assert response["statusCode"] == 200
    assert [item["id"] for item in body_of(response)["portfolios"]] == [created["id"]]


# If-Match ------------------------------------------------------------------


def put_with(function: ModuleType, portfolio_id: str, if_match: str) -> int:
    response = one(
        function,
        "PUT",
        portfolio_id,
        payload={**PORTFOLIO, "name": "Renamed"},
        headers={"if-match": if_match},
    )
    return response["statusCode"]


@pytest.mark.parametrize(
    "if_match",
    ["1", '"1', '1"', '"01"', 'W/"1"', '"1" "2"', '*, "1"', '"1";', "garbage"],
)
def test_if_match_malformed_or_weak_fails(
    portfolio_function: ModuleType, if_match: str
) -> None:
    created = create(portfolio_function)
    assert put_with(portfolio_function, created["id"], if_match) == 412
    response = one(portfolio_function, "GET", created["id"])
    assert body_of(response)["version"] == 1


@pytest.mark.parametrize(
    "if_match", ['"1"', '"2", "1"', '"1", "2"', 'W/"1", "1"', ' , "1" ,', '"2",,"1"']
)
def test_if_match_list_any_tag_matches(
    portfolio_function: ModuleType, if_match: str
) -> None:
    created = create(portfolio_function)
    assert put_with(portfolio_function, created["id"], if_match) == 200


def test_if_match_star_needs_etag(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    assert put_with(portfolio_function, created["id"], "*") == 428


def test_delete_if_match_list(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    stale = one(portfolio_function, "DELETE", created["id"], headers={"if-match": "1"})
    assert stale["statusCode"] == 412
    deleted = one(
        portfolio_function, "DELETE", created["id"], headers={"if-match": '"3", "1"'}
    )
    assert deleted["statusCode"] == 204


@pytest.mark.parametrize("if_match", ["", " ", "\t"])
def test_empty_if_match_matches_nothing(
    portfolio_function: ModuleType, if_match: str
) -> None:
    created = create(portfolio_function)
    headers = {"if-match": if_match}
    deleted = one(portfolio_function, "DELETE", created["id"], headers=headers)
    assert deleted["statusCode"] == 412
    assert put_with(portfolio_function, created["id"], if_match) == 412
    assert one(portfolio_function, "GET", created["id"])["statusCode"] == 200


def test_delete_if_match_star(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    star = {"if-match": "*"}
    deleted = one(portfolio_function, "DELETE", created["id"], headers=star)
    again = one(portfolio_function, "DELETE", created["id"], headers=star)
    assert deleted["statusCode"] == 204
    assert one(portfolio_function, "GET", created["id"])["statusCode"] == 404
    assert again["statusCode"] == 404


def test_delete_if_match_star_other_owner(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = one(
        portfolio_function,
        "DELETE",
        created["id"],
        claims=BOB,
        headers={"if-match": "*"},
    )
    assert response["statusCode"] == 404
    assert one(portfolio_function, "GET", created["id"])["statusCode"] == 200


# Path ids ------------------------------------------------------------------


def id_spellings(portfolio_id: str) -> list[str]:
    return [
        portfolio_id.upper(),
        portfolio_id.replace("-", ""),
        "{" + portfolio_id + "}",
        "urn:uuid:" + portfolio_id,
    ]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_id_other_spelling_not_found(
    portfolio_function: ModuleType, method: str
) -> None:
    created = create(portfolio_function)
    missing = one(portfolio_function, "GET", str(uuid.uuid4()))
    for spelling in id_spellings(created["id"]):
        response = one(
            portfolio_function,
            method,
            spelling,
            payload={**PORTFOLIO, "name": "Renamed"} if method == "PUT" else None,
            headers={"if-match": '"1"'},
        )
        assert response["statusCode"] == 404, spelling
        assert body_of(response)["error"] == body_of(missing)["error"], spelling
    assert body_of(one(portfolio_function, "GET", created["id"]))["version"] == 1


def test_id_other_spelling_dashboard_not_found(
    portfolio_function: ModuleType,
) -> None:
    created = create(portfolio_function)
    for spelling in id_spellings(created["id"]):
        response = one(portfolio_function, "GET", spelling, "/dashboard")
        assert response["statusCode"] == 404, spelling


# Query values --------------------------------------------------------------


CSV_BODY = b"name,code,amount\nExample Farms,0111,10\n"


def csv_create(function: ModuleType, raw_query: str) -> dict:
    return call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=CSV_BODY,
        headers={"content-type": "text/csv"},
        query=raw_query,
    )


@pytest.mark.parametrize("raw_name", ["%FFabc", "a%C3", "%ED%A0%80x"])
def test_query_name_invalid_utf8_rejected(
    portfolio_function: ModuleType, raw_name: str
) -> None:
    response = csv_create(portfolio_function, f"name={raw_name}&currency=EUR")
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": "name", "reason": "invalid UTF-8"}]


def test_query_name_decoded_exactly(portfolio_function: ModuleType) -> None:
    response = csv_create(
        portfolio_function, "name=Caf%C3%A9+%F0%9F%8C%B3&currency=EUR"
    )
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["name"] == "Café 🌳"


def list_with(function: ModuleType, raw_query: str) -> dict:
    return call(function, "GET", "/portfolios", "GET /portfolios", query=raw_query)


@pytest.mark.parametrize(
    ("raw_limit", "reason"),
    [
        ("0", "must be at least 1"),
        ("-1", "must be at least 1"),
        ("-0", "must be at least 1"),
        ("101", "must be at most 100"),
        ("1" * 5000, "must be at most 100"),
        ("abc", "must be a whole number"),
        ("0x5", "must be a whole number"),
        ("5%20", "must be a whole number"),
        ("1_0", "must be a whole number"),
        ("%EF%BC%95", "must be a whole number"),
        ("%C2%B2", "must be a whole number"),
        ("%FF", "must be a whole number"),
    ],
)
def test_limit_invalid_unprocessable(
    portfolio_function: ModuleType, raw_limit: str, reason: str
) -> None:
    response = list_with(portfolio_function, f"limit={raw_limit}")
    assert response["statusCode"] == 422
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": "query.limit", "reason": reason}]


@pytest.mark.parametrize("raw_limit", ["1", "007", "100"])
def test_limit_in_range_accepted(
    portfolio_function: ModuleType, raw_limit: str
) -> None:
    create(portfolio_function)
    response = list_with(portfolio_function, f"limit={raw_limit}")
    assert response["statusCode"] == 200
    assert len(body_of(response)["portfolios"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "raw_query", "parameter"),
    [
        ("POST", "/portfolios", "name=x&name=y&currency=EUR", "name"),
        ("POST", "/portfolios", "name=x&currency=EUR&currency=USD", "currency"),
        ("POST", "/portfolios", "name=x&currency=EUR&module=x&module=y", "module"),
        ("GET", "/portfolios", "limit=1&limit=2", "limit"),
        ("GET", "/portfolios", "cursor=a&cursor=b", "cursor"),
        ("GET", "/account/data", "cursor=a&cursor=b", "cursor"),
    ],
)
def test_repeated_query_parameter_rejected(
    portfolio_function: ModuleType,
    method: str,
    path: str,
    raw_query: str,
    parameter: str,
) -> None:
    response = call(
        portfolio_function,
        method,
        path,
        f"{method} {path}",
        body=CSV_BODY if method == "POST" else None,
        headers={"content-type": "text/csv"} if method == "POST" else None,
        query=raw_query,
    )
    assert response["statusCode"] == 422
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": f"query.{parameter}", "reason": "must be given once"}]


# Cursors -------------------------------------------------------------------

CURSOR_PROBLEM = {
    "field": "query.cursor",
    "reason": "must be the next_cursor of the previous page",
}
CURSOR_ID = "6353bf4c-ac81-4388-9e94-841e61887258"
CURSOR_TIME = "2026-01-01T00:00:00+00:00"


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def backend_pid(function: ModuleType) -> int:
    with function.database().transaction() as connection:
        return connection.run("SELECT pg_backend_pid()")[0][0]


@pytest.mark.parametrize(
    "text",
    [
        f"0001-01-01T00:00:00+23:59|{CURSOR_ID}",
        f"9999-12-31T23:59:59.999999-23:59|{CURSOR_ID}",
        f"2026-01-01T01:00:00+01:00|{CURSOR_ID}",
        f"2026-01-01T00:00:00Z|{CURSOR_ID}",
        f"2026-01-01T00:00:00|{CURSOR_ID}",
        f"2026-01-01|{CURSOR_ID}",
        f"{CURSOR_TIME}|{CURSOR_ID.upper()}",
        f"{CURSOR_TIME}|{{{CURSOR_ID}}}",
        f"{CURSOR_TIME}|urn:uuid:{CURSOR_ID}",
        f"{CURSOR_TIME}|{CURSOR_ID.replace('-', '')}",
        f"{CURSOR_TIME}|{CURSOR_ID}|",
        CURSOR_TIME,
    ],
)
def test_list_forged_cursor_unprocessable(
    portfolio_function: ModuleType, text: str
) -> None:
    create(portfolio_function)
    pid = backend_pid(portfolio_function)
    response = list_with(portfolio_function, "cursor=" + cursor_of(text))
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["problems"] == [CURSOR_PROBLEM]
    assert backend_pid(portfolio_function) == pid


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "a", "%FF", "MjAyNnx4", cursor_of(f"{CURSOR_TIME}|x") + "=="],
)
def test_list_garbled_cursor_unprocessable(
    portfolio_function: ModuleType, cursor: str
) -> None:
    response = list_with(portfolio_function, "cursor=" + cursor)
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["problems"] == [CURSOR_PROBLEM]


def test_list_cursor_with_extra_characters(portfolio_function: ModuleType) -> None:
    for _ in range(2):
        create(portfolio_function)
    cursor = body_of(list_with(portfolio_function, "limit=1"))["next_cursor"]
    followed = list_with(portfolio_function, f"limit=1&cursor={cursor}")
    assert followed["statusCode"] == 200
    for altered in (cursor + "=", cursor[:4] + "!" + cursor[4:], cursor + "%0A"):
        response = list_with(portfolio_function, f"cursor={altered}")
        assert response["statusCode"] == 422, altered


def export_with(function: ModuleType, fields: object) -> dict:
    cursor = cursor_of(json.dumps(fields, separators=(",", ":")))
    return call(
        function, "GET", "/account/data", "GET /account/data", query=f"cursor={cursor}"
    )


@pytest.mark.parametrize(
    "fields",
    [
        ["0001-01-01T00:00:00+23:59", CURSOR_ID, 330, 1, 1],
        ["9999-12-31T23:59:59.999999-23:59", CURSOR_ID, 330, 1, 1],
        ["2026-01-01T01:00:00+01:00", CURSOR_ID, 0, 1, 1],
        [CURSOR_TIME, CURSOR_ID.upper(), 0, 1, 1],
        [CURSOR_TIME, CURSOR_ID.replace("-", ""), 0, 1, 1],
        [CURSOR_TIME, 5, 0, 1, 1],
        [5, CURSOR_ID, 0, 1, 1],
        [CURSOR_TIME, CURSOR_ID, -1, 1, 1],
        [CURSOR_TIME, CURSOR_ID, 2**31, 1, 1],
        [CURSOR_TIME, CURSOR_ID, True, 1, 1],
        [CURSOR_TIME, CURSOR_ID, 1.0, 1, 1],
        [CURSOR_TIME, CURSOR_ID, 0, 0, 1],
        [CURSOR_TIME, CURSOR_ID, 0, 1, 0],
        [CURSOR_TIME, CURSOR_ID, 0, 1],
        [CURSOR_TIME, CURSOR_ID, 0, 1, 1, 1],
        {"created_at": CURSOR_TIME},
        "text",
    ],
)
def test_export_forged_cursor_unprocessable(
    portfolio_function: ModuleType, fields: object
) -> None:
    create(portfolio_function)
    pid = backend_pid(portfolio_function)
    response = export_with(portfolio_function, fields)
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["problems"] == [CURSOR_PROBLEM]
    assert backend_pid(portfolio_function) == pid


def test_export_cursor_of_unknown_start(portfolio_function: ModuleType) -> None:
    response = export_with(portfolio_function, [CURSOR_TIME, CURSOR_ID, 0, 1, 1])
    assert response["statusCode"] == 200
    assert body_of(response)["page"] == 2


def test_replace_repeated_name_rejected(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = one(
        portfolio_function,
        "PUT",
        created["id"],
        body=CSV_BODY,
        headers={"content-type": "text/csv", "if-match": '"1"'},
        query="name=x&name=y&currency=EUR",
    )
    assert response["statusCode"] == 422
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": "query.name", "reason": "must be given once"}]
    assert body_of(one(portfolio_function, "GET", created["id"]))["version"] == 1


def test_query_name_with_encoded_comma_kept(portfolio_function: ModuleType) -> None:
    response = csv_create(portfolio_function, "name=Smith%2C+Jones&currency=EUR")
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["name"] == "Smith, Jones"


# Options -------------------------------------------------------------------


def public_dashboard(payload: dict, raw_query: str = "") -> dict:
    dashboard = load_function("dashboard", fresh=True)
    event = json_event("/dashboards/natural-capital", payload, query=raw_query)
    response = dashboard.lambda_handler(event, lambda_context("dashboard"))
    return response


@pytest.mark.parametrize(
    ("options", "stored"),
    [
        ({"exclude_water_supply": "false"}, {"exclude_water_supply": False}),
        ({"exclude_water_supply": "yes"}, {"exclude_water_supply": True}),
        ({"exclude_water_supply": True}, {"exclude_water_supply": True}),
        ({}, {}),
    ],
)
def test_saved_options_read_as_public_route(
    portfolio_function: ModuleType, options: dict, stored: dict
) -> None:
    payload = {**PORTFOLIO, "options": options}
    created = create(portfolio_function, payload=payload)
    assert created["options"] == stored
    saved = one(portfolio_function, "GET", created["id"], "/dashboard")
    assert saved["statusCode"] == 200
    public = public_dashboard(payload)
    assert public["statusCode"] == 200
    saved_options = body_of(saved)["dashboard"]["options"]
    assert saved_options == json.loads(public["body"])["options"]


def test_saved_options_invalid_flag_rejected(portfolio_function: ModuleType) -> None:
    payload = {**PORTFOLIO, "options": {"exclude_water_supply": "ZQXMARK5678"}}
    public = public_dashboard(payload)
    assert public["statusCode"] == 400
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload=payload,
    )
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert [problem["field"] for problem in problems] == [
        "options.exclude_water_supply"
    ]
    assert "ZQXMARK5678" not in response["body"]


def test_unknown_options_not_stored(portfolio_function: ModuleType) -> None:
    payload = {
        **PORTFOLIO,
        "options": {"not_an_option": "x" * 100_000, "exclude_water_supply": False},
    }
    created = create(portfolio_function, payload=payload)
    assert created["options"] == {"exclude_water_supply": False}
    listed = call(portfolio_function, "GET", "/portfolios", "GET /portfolios")
    assert len(listed["body"]) < 2_000
    assert "not_an_option" not in listed["body"]


@pytest.mark.parametrize(
    ("body_options", "raw_query", "stored"),
    [
        ({}, "exclude_water_supply=true", {"exclude_water_supply": True}),
        ({}, "exclude_water_supply=off", {"exclude_water_supply": False}),
        (
            {"exclude_water_supply": False},
            "exclude_water_supply=yes",
            {"exclude_water_supply": True},
        ),
        (
            {"exclude_water_supply": True},
            "exclude_water_supply=0",
            {"exclude_water_supply": False},
        ),
        ({"exclude_water_supply": True}, "", {"exclude_water_supply": True}),
    ],
)
def test_query_flag_overrides_json_options(
    portfolio_function: ModuleType, body_options: dict, raw_query: str, stored: dict
) -> None:
    payload = {**PORTFOLIO, "options": body_options}
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload=payload,
        query=raw_query,
    )
    assert response["statusCode"] == 201, response["body"]
    created = body_of(response)
    assert created["options"] == stored
    saved = one(portfolio_function, "GET", created["id"], "/dashboard")
    public = public_dashboard(payload, raw_query)
    assert public["statusCode"] == 200
    saved_options = body_of(saved)["dashboard"]["options"]
    assert saved_options == json.loads(public["body"])["options"]


def test_query_flag_saved_with_csv_body(portfolio_function: ModuleType) -> None:
    response = csv_create(
        portfolio_function, "name=a&currency=EUR&exclude_water_supply=true"
    )
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["options"] == {"exclude_water_supply": True}


def replace_version_one(function: ModuleType, portfolio_id: str, raw_query: str):
    return one(
        function,
        "PUT",
        portfolio_id,
        payload=PORTFOLIO,
        headers={"if-match": '"1"'},
        query=raw_query,
    )


def test_query_flag_applied_on_replace(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = replace_version_one(
        portfolio_function, created["id"], "exclude_water_supply=true"
    )
    assert response["statusCode"] == 200, response["body"]
    assert body_of(response)["options"] == {"exclude_water_supply": True}


@pytest.mark.parametrize(
    "raw_query",
    [
        "exclude_water_supply=ZQXMARK4321",
        "exclude_water_supply=",
        "exclude_water_supply=true&exclude_water_supply=false",
    ],
    ids=["not-a-flag", "empty", "repeated"],
)
def test_invalid_query_flag_rejected_as_public(
    portfolio_function: ModuleType, raw_query: str
) -> None:
    public = public_dashboard(PORTFOLIO, raw_query)
    assert public["statusCode"] == 422
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload=PORTFOLIO,
        query=raw_query,
    )
    assert response["statusCode"] == 422
    problems = body_of(response)["error"]["problems"]
    assert problems == json.loads(public["body"])["error"]["problems"]
    assert "ZQXMARK4321" not in response["body"]
    listed = call(portfolio_function, "GET", "/portfolios", "GET /portfolios")
    assert body_of(listed)["portfolios"] == []


def test_replace_invalid_query_flag_rejected(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = replace_version_one(
        portfolio_function, created["id"], "exclude_water_supply=maybe"
    )
    assert response["statusCode"] == 422
    problems = body_of(response)["error"]["problems"]
    assert problems == [
        {"field": "query.exclude_water_supply", "reason": "must be true or false"}
    ]
    assert body_of(one(portfolio_function, "GET", created["id"]))["version"] == 1


# Nested JSON ---------------------------------------------------------------

# CPython 3.13's json decoder raises RecursionError from 10,000 levels on.
TOO_DEEP = 10_008


def deep_body(where: str) -> bytes:
    """Build a valid portfolio body with arrays nested TOO_DEEP levels at ``where``."""
    document = json.loads(json.dumps(PORTFOLIO))
    if where == "top level":
        document["x"] = "NESTED"
    elif where == "options":
        document["options"] = {"a": "NESTED"}
    else:
        document["holdings"][0]["amount"] = "NESTED"
    nested = "[" * TOO_DEEP + "]" * TOO_DEEP
    return json.dumps(document).replace('"NESTED"', nested).encode()


@pytest.mark.parametrize("where", ["top level", "options", "amount"])
def test_create_nested_too_deeply_rejected(
    portfolio_function: ModuleType, where: str
) -> None:
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=deep_body(where),
        headers={"content-type": "application/json"},
    )

    assert response["statusCode"] == 400
    assert "nested too deeply" in body_of(response)["error"]["message"]
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": "body", "reason": "nested too deeply"}]


@pytest.mark.parametrize("where", ["top level", "options", "amount"])
def test_replace_nested_too_deeply_rejected(
    portfolio_function: ModuleType, where: str
) -> None:
    created = create(portfolio_function)

    response = one(
        portfolio_function,
        "PUT",
        created["id"],
        body=deep_body(where),
        headers={"content-type": "application/json", "if-match": '"1"'},
    )

    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert problems == [{"field": "body", "reason": "nested too deeply"}]
    assert body_of(one(portfolio_function, "GET", created["id"]))["version"] == 1


# Holding text --------------------------------------------------------------


def test_literal_backslash_u0000_kept(portfolio_function: ModuleType) -> None:
    name = "C:\\u0000\\temp"
    holdings = [{"name": name, "code": "0111", "amount": 1}]
    created = create(portfolio_function, payload={**PORTFOLIO, "holdings": holdings})
    response = one(portfolio_function, "GET", created["id"])
    assert body_of(response)["holdings"][0]["name"] == name


def test_real_nul_in_holding_rejected(portfolio_function: ModuleType) -> None:
    holdings = [
        {"name": "Example Farms", "code": "0111", "amount": 1},
        {"name": "a\u0000b", "code": "0111", "amount": 1},
    ]
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload={**PORTFOLIO, "holdings": holdings},
    )
    assert response["statusCode"] == 400
    assert "\\u0000" not in response["body"]


def test_nul_in_json_holding_named_by_field(portfolio_function: ModuleType) -> None:
    holdings = [{"code": "0111"}] * 3 + [{"name": "x\u0000", "code": "0111"}]
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload={"name": "n", "currency": "EUR", "holdings": holdings},
    )
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert problems == [
        {"field": "holdings[3].name", "reason": "contains a NUL character"}
    ]


# Currency ----------------------------------------------------------------


def csv_create_with(function: ModuleType, body: bytes, raw_query: str) -> dict:
    return call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": "text/csv"},
        query=raw_query,
    )


def test_query_currency_against_column_rejected(
    portfolio_function: ModuleType,
) -> None:
    body = b"name,code,amount,currency\nExample Farms,0111,100,USD\n"
    response = csv_create_with(portfolio_function, body, "name=a&currency=EUR")
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    # The same problem a multipart upload with a currency field gets.
    assert problems == [
        {"field": "currency", "reason": "every holding must have the same currency"}
    ]


@pytest.mark.parametrize("raw_currency", ["USD", "usd", "%20USD"])
def test_query_currency_matching_column_accepted(
    portfolio_function: ModuleType, raw_currency: str
) -> None:
    body = b"name,code,amount,currency\nExample Farms,0111,100,USD\n"
    query = f"name=a&currency={raw_currency}"
    response = csv_create_with(portfolio_function, body, query)
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["currency"] == "USD"


def test_query_currency_against_amount_header_rejected(
    portfolio_function: ModuleType,
) -> None:
    body = "name,code,Amount (€)\nExample Farms,0111,100\n".encode()
    response = csv_create_with(portfolio_function, body, "name=a&currency=USD")
    assert response["statusCode"] == 400
    fields = [problem["field"] for problem in body_of(response)["error"]["problems"]]
    assert fields == ["amount"]


def test_query_currency_any_case_saved(portfolio_function: ModuleType) -> None:
    response = csv_create(portfolio_function, "name=a&currency=eur")
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["currency"] == "EUR"


@pytest.mark.parametrize("currency", ["XYZ", "EURO", 5])
def test_mining_invalid_currency_rejected(
    portfolio_function: ModuleType, currency: object
) -> None:
    payload = {
        "name": "Mines",
        "module": "mining",
        "currency": currency,
        "assets": [{"name": "Example Copper", "latitude": -24.27, "longitude": -69.07}],
    }
    response = call(
        portfolio_function, "POST", "/portfolios", "POST /portfolios", payload=payload
    )
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert problems == [
        {"field": "currency", "reason": "invalid currency: expected an ISO 4217 code"}
    ]


@pytest.mark.usefixtures("biodiversity_environment")
def test_mining_upload_currency_field_saved(portfolio_function: ModuleType) -> None:
    csv_bytes = b"name,latitude,longitude\nExample Copper,-24.27,-69.07\n"
    body, content_type = multipart_body(
        {"file": ("mines.csv", csv_bytes, "text/csv")},
        {"name": "Mines", "module": "mining", "currency": "usd"},
    )
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": content_type},
    )
    assert response["statusCode"] == 201, response["body"]
    assert body_of(response)["currency"] == "USD"


@pytest.mark.parametrize(
    "body",
    [
        b"name,code,amount\nA,0111,$5\nB,0141,5\n",
        "name,code,amount\nA,0111,\u00a35\n".encode(),
        b"name,code,Amount ($)\nA,0111,5\n",
        b"name,code,amount\nA,0111,5 USD\n",
    ],
    ids=["dollar-cell", "pound-cell", "dollar-header", "code-cell"],
)
def test_query_currency_checked_against_cells(
    portfolio_function: ModuleType, body: bytes
) -> None:
    response = csv_create_with(portfolio_function, body, "name=a&currency=EUR")
    assert response["statusCode"] == 400, response["body"]
    fields = [problem["field"] for problem in body_of(response)["error"]["problems"]]
    assert fields == ["amount"]
