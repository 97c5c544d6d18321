"""The portfolio function's routes, end to end on the TLS-only PostgreSQL.

Each test calls ``lambda_handler`` with the payload-2.0 event API Gateway
would send after its JWT authorizer verified the token.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra.local.postgres import PostgresServer
from tests.events import http_event, lambda_context, multipart_body
from tests.functions import load_function

ALICE = {"sub": "alice-0001", "email": "alice@example.org"}
BOB = {"sub": "bob-0002", "email": "bob@example.org"}

PORTFOLIO = {
    "name": "Main book",
    "module": "natural_capital",
    "currency": "EUR",
    "holdings": [
        {"name": "Example Farms", "code": "0111", "amount": 2500000},
        {"name": "Example Mills", "code": "C_10_106", "amount": 1234.5},
        {"name": "Example Mines", "code": "0710", "amount": 1000},
    ],
}


@pytest.fixture
def portfolio_function(
    database_secret: str, encore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The portfolio function, loaded fresh with the DB_* settings of the test."""
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    module = load_function("portfolio", fresh=True)
    yield module
    module.reset_database()


def call(
    function: ModuleType,
    method: str,
    path: str,
    route_key: str,
    *,
    claims: dict[str, Any] | None = ALICE,
    payload: Any = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    all_headers = dict(headers or {})
    if payload is not None:
        body = json.dumps(payload).encode("utf-8")
        all_headers.setdefault("content-type", "application/json")
    event = http_event(
        method,
        path,
        query=query or {},
        headers=all_headers,
        body=body,
        route_key=route_key,
        path_parameters=path_parameters,
        claims=claims,
    )
    return function.lambda_handler(event, lambda_context("portfolio"))


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def create(function: ModuleType, claims=ALICE, payload=None) -> dict[str, Any]:
    response = call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        claims=claims,
        payload=PORTFOLIO if payload is None else payload,
    )
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)


def one(function: ModuleType, method: str, portfolio_id: str, suffix: str = "", **kw):
    template = "/portfolios/{portfolio_id}" + suffix
    return call(
        function,
        method,
        f"/portfolios/{portfolio_id}{suffix}",
        f"{method} {template}",
        path_parameters={"portfolio_id": portfolio_id},
        **kw,
    )


def table_count(server: PostgresServer, table: str) -> int:
    connection = server.connect()
    try:
        return connection.run(f"SELECT count(*) FROM {table}")[0][0]
    finally:
        connection.close()


# The route set -----------------------------------------------------------


def test_create_returns_summary_and_etag(portfolio_function: ModuleType) -> None:
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload=PORTFOLIO,
    )
    created = body_of(response)
    assert response["statusCode"] == 201
    assert response["headers"]["ETag"] == '"1"'
    assert response["headers"]["Location"] == f"/portfolios/{created['id']}"
    assert created["name"] == "Main book"
    assert created["holdings_count"] == 3
    assert created["currency"] == "EUR"
    assert uuid.UUID(created["id"]).version == 4


def test_get_returns_holdings(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = one(portfolio_function, "GET", created["id"])
    loaded = body_of(response)
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] == '"1"'
    assert [h["code"] for h in loaded["holdings"]] == ["0111", "C_10_106", "0710"]
    assert [h["amount"] for h in loaded["holdings"]] == [2500000.0, 1234.5, 1000.0]
    assert loaded["holdings"][0]["name"] == "Example Farms"


def test_list_is_paginated(portfolio_function: ModuleType) -> None:
    ids = [create(portfolio_function)["id"] for _ in range(3)]
    create(portfolio_function, claims=BOB)
    seen: list[str] = []
    query = {"limit": "2"}
    for _ in range(3):
        response = call(
            portfolio_function,
            "GET",
            "/portfolios",
            "GET /portfolios",
            query=query,
        )
        page = body_of(response)
        assert response["statusCode"] == 200
        seen += [item["id"] for item in page["portfolios"]]
        assert all("holdings" not in item for item in page["portfolios"])
        if page["next_cursor"] is None:
            break
        query = {"limit": "2", "cursor": page["next_cursor"]}
    assert seen == ids


@pytest.mark.parametrize("limit", ["0", "101", "-1", "two", "1.5", "\u0665", "1_0"])
def test_list_bad_limit_rejected(portfolio_function: ModuleType, limit: str) -> None:
    response = call(
        portfolio_function,
        "GET",
        "/portfolios",
        "GET /portfolios",
        query={"limit": limit},
    )
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["problems"][0]["field"] == "query.limit"


def test_replace_needs_current_version(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    renamed = {**PORTFOLIO, "name": "Renamed", "holdings": PORTFOLIO["holdings"][:1]}

    missing = one(portfolio_function, "PUT", created["id"], payload=renamed)
    assert missing["statusCode"] == 428
    star = one(
        portfolio_function,
        "PUT",
        created["id"],
        payload=renamed,
        headers={"if-match": "*"},
    )
    assert star["statusCode"] == 428

    updated = one(
        portfolio_function,
        "PUT",
        created["id"],
        payload=renamed,
        headers={"if-match": '"1"'},
    )
    assert updated["statusCode"] == 200
    assert updated["headers"]["ETag"] == '"2"'
    assert body_of(updated)["holdings_count"] == 1

    for stale in ('"1"', 'W/"2"', "garbage", '"99999999999"'):
        response = one(
            portfolio_function,
            "PUT",
            created["id"],
            payload=PORTFOLIO,
            headers={"if-match": stale},
        )
        assert response["statusCode"] == 412, stale
    loaded = body_of(one(portfolio_function, "GET", created["id"]))
    assert loaded["name"] == "Renamed"
    assert loaded["version"] == 2


def test_delete_then_gone(
    portfolio_function: ModuleType, clean_database: PostgresServer
) -> None:
    created = create(portfolio_function)
    response = one(portfolio_function, "DELETE", created["id"])
    assert response["statusCode"] == 204
    assert one(portfolio_function, "GET", created["id"])["statusCode"] == 404
    assert one(portfolio_function, "DELETE", created["id"])["statusCode"] == 404
    assert table_count(clean_database, "holdings") == 0
    assert table_count(clean_database, "deleted_portfolios") == 1


def test_delete_with_stale_if_match(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = one(
        portfolio_function, "DELETE", created["id"], headers={"if-match": '"5"'}
    )
    assert response["statusCode"] == 412
    assert one(portfolio_function, "GET", created["id"])["statusCode"] == 200


def test_dashboard_of_saved_portfolio(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)
    response = one(portfolio_function, "GET", created["id"], "/dashboard")
    result = body_of(response)
    assert response["statusCode"] == 200, response["body"]
    assert result["portfolio"]["id"] == created["id"]
    dashboard = result["dashboard"]
    assert dashboard["totals"]["holdings"] == 3
    assert dashboard["totals"]["exposure"] == pytest.approx(2501234.5 + 1000)
    assert dashboard["currency"] == "EUR"


def test_dashboard_query_flag_overrides_saved(portfolio_function: ModuleType) -> None:
    created = create(portfolio_function)

    saved = body_of(one(portfolio_function, "GET", created["id"], "/dashboard"))
    excluded = body_of(
        one(
            portfolio_function,
            "GET",
            created["id"],
            "/dashboard",
            query={"exclude_water_supply": "true"},
        )
    )
    invalid = one(
        portfolio_function,
        "GET",
        created["id"],
        "/dashboard",
        query={"exclude_water_supply": "maybe"},
    )

    services = {"Water supply"}
    assert services <= {
        e["ecosystem_service"] for e in saved["dashboard"]["dependencies"]
    }
    assert not services & {
        e["ecosystem_service"] for e in excluded["dashboard"]["dependencies"]
    }
    assert invalid["statusCode"] == 422


def test_dashboard_matches_direct_computation(
    portfolio_function: ModuleType,
) -> None:
    from nature_risk.config import InputLimits
    from nature_risk.knowledge_base import get_knowledge_base
    from nature_risk.natural_capital import build_dashboard
    from nature_risk.portfolio_input import parse_holdings

    created = create(portfolio_function)
    saved = body_of(one(portfolio_function, "GET", created["id"], "/dashboard"))
    holdings = parse_holdings(
        json.dumps(PORTFOLIO).encode(), "application/json", InputLimits()
    )
    direct = json.loads(json.dumps(build_dashboard(holdings, get_knowledge_base())))
    assert saved["dashboard"] == direct


@pytest.fixture
def biodiversity_environment(
    biodiversity_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    from nature_risk.biodiversity import get_biodiversity

    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
    monkeypatch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
    get_biodiversity.cache_clear()
    yield
    get_biodiversity.cache_clear()


MINING_PORTFOLIO = {
    "name": "Mines",
    "module": "mining",
    "currency": "USD",
    "assets": [
        {"name": "Example Copper", "latitude": -24.27, "longitude": -69.07},
        {"name": "Example Gold", "latitude": -6.5, "longitude": 140.0},
    ],
}


def test_mining_portfolio_saved_and_scored(
    portfolio_function: ModuleType, biodiversity_environment: None
) -> None:
    created = create(portfolio_function, payload=MINING_PORTFOLIO)
    stored = body_of(one(portfolio_function, "GET", created["id"]))
    response = one(portfolio_function, "GET", created["id"], "/dashboard")
    dashboard = body_of(response)["dashboard"]
    assert created["module"] == "mining"
    assert len(stored["holdings"]) == 2
    assert response["statusCode"] == 200
    assert dashboard["assets"][0]["ecoregion"]["name"] == "Atacama desert"


def test_mining_ignores_query_flag(
    portfolio_function: ModuleType, biodiversity_environment: None
) -> None:
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload=MINING_PORTFOLIO,
        query={"exclude_water_supply": "true"},
    )
    assert response["statusCode"] == 201, response["body"]
    assert "exclude_water_supply" not in body_of(response)["options"]


PARSER_OPTIONS = {"row_source": "csv", "records_field": "rows"}


def returned_options(function: ModuleType, portfolio_id: str) -> list[dict]:
    """Collect ``options`` from every route that returns the portfolio."""
    listed = body_of(call(function, "GET", "/portfolios", "GET /portfolios"))
    exported = body_of(call(function, "GET", "/account/data", "GET /account/data"))
    dashboard = body_of(one(function, "GET", portfolio_id, "/dashboard"))
    return [
        body_of(one(function, "GET", portfolio_id))["options"],
        listed["portfolios"][0]["options"],
        exported["portfolios"][0]["options"],
        dashboard["portfolio"]["options"],
    ]


def stored_options(function: ModuleType, portfolio_id: str) -> dict:
    with function.database().transaction() as connection:
        rows = connection.run(
            "SELECT options FROM portfolios WHERE id = CAST(:id AS uuid)",
            id=portfolio_id,
        )
    return rows[0][0]


def test_mining_parser_options_hidden(
    portfolio_function: ModuleType, biodiversity_environment: None
) -> None:
    payload = {**MINING_PORTFOLIO, "options": PARSER_OPTIONS}
    created = create(portfolio_function, payload=payload)
    assert created["options"] == {}
    for options in returned_options(portfolio_function, created["id"]):
        assert options == {}
    stored = stored_options(portfolio_function, created["id"])
    assert stored == {"row_source": "json", "records_field": "assets"}


def test_natural_capital_parser_options_hidden(
    portfolio_function: ModuleType,
) -> None:
    options = {**PARSER_OPTIONS, "exclude_water_supply": True}
    created = create(portfolio_function, payload={**PORTFOLIO, "options": options})
    assert created["options"] == {"exclude_water_supply": True}
    for returned in returned_options(portfolio_function, created["id"]):
        assert returned == {"exclude_water_supply": True}


def test_mining_nul_named_by_asset_field(
    portfolio_function: ModuleType, biodiversity_environment: None
) -> None:
    assets = [
        MINING_PORTFOLIO["assets"][0],
        {"company": "a\u0000b", "latitude": -6.5, "longitude": 140.0},
    ]
    payload = {**MINING_PORTFOLIO, "assets": assets}
    response = call(
        portfolio_function, "POST", "/portfolios", "POST /portfolios", payload=payload
    )
    assert response["statusCode"] == 400
    problems = body_of(response)["error"]["problems"]
    assert problems == [
        {"field": "assets[1].company", "reason": "contains a NUL character"}
    ]


def test_agriculture_portfolio_saved_and_scored(
    portfolio_function: ModuleType, biodiversity_environment: None
) -> None:
    body = b"commodity,country,production_tonnes\nwheat,FR,68427\n"
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": "text/csv"},
        query={"name": "Farms", "module": "agriculture", "currency": "EUR"},
    )
    assert response["statusCode"] == 201, response["body"]
    created = body_of(response)
    dashboard = body_of(one(portfolio_function, "GET", created["id"], "/dashboard"))
    holding = dashboard["dashboard"]["holdings"][0]
    assert holding["row"] == 2
    assert holding["footprint_hectares"] == pytest.approx(10_000.0)


def test_export_all_own_data(portfolio_function: ModuleType) -> None:
    first = create(portfolio_function)
    create(portfolio_function, claims=BOB)
    response = call(portfolio_function, "GET", "/account/data", "GET /account/data")
    exported = body_of(response)
    assert response["statusCode"] == 200
    assert "attachment" in response["headers"]["Content-Disposition"]
    assert exported["subject"] == ALICE["sub"]
    assert [p["id"] for p in exported["portfolios"]] == [first["id"]]
    assert len(exported["portfolios"][0]["holdings"]) == 3


def test_delete_all_own_data(
    portfolio_function: ModuleType, clean_database: PostgresServer
) -> None:
    for _ in range(2):
        create(portfolio_function)
    kept = create(portfolio_function, claims=BOB)
    response = call(
        portfolio_function, "DELETE", "/account/data", "DELETE /account/data"
    )
    assert response["statusCode"] == 200
    assert body_of(response) == {"deleted_portfolios": 2}
    listed = body_of(
        call(portfolio_function, "GET", "/portfolios", "GET /portfolios", claims=BOB)
    )
    assert [p["id"] for p in listed["portfolios"]] == [kept["id"]]
    assert table_count(clean_database, "deleted_portfolios") == 2


def test_csv_upload_with_query_fields(portfolio_function: ModuleType) -> None:
    csv_text = (
        "name,code,amount,currency\nFarm A,0111,100,USD\nMill B,C_10_106,50,USD\n"
    )
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=csv_text.encode(),
        headers={"content-type": "text/csv"},
        query={"name": "From CSV"},
    )
    created = body_of(response)
    assert response["statusCode"] == 201, response["body"]
    assert created["name"] == "From CSV"
    assert created["currency"] == "USD"
    assert created["holdings_count"] == 2


def test_multipart_upload_with_form_fields(portfolio_function: ModuleType) -> None:
    csv_bytes = b"code;amount\n0111;1.000,50\nC_10_106;2.000\n"
    body, content_type = multipart_body(
        {"file": ("book.csv", csv_bytes, "text/csv")},
        {"name": "Upload 🌱", "module": "natural_capital", "currency": "EUR"},
    )
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": content_type},
    )
    created = body_of(response)
    assert response["statusCode"] == 201, response["body"]
    assert created["name"] == "Upload 🌱"
    loaded = body_of(one(portfolio_function, "GET", created["id"]))
    assert [h["amount"] for h in loaded["holdings"]] == [1000.5, 2000.0]


def test_invalid_rows_store_nothing(
    portfolio_function: ModuleType, clean_database: PostgresServer
) -> None:
    payload = {
        **PORTFOLIO,
        "holdings": [{"code": "0111", "amount": "lots"}, {"code": "", "amount": 1}],
    }
    response = call(
        portfolio_function, "POST", "/portfolios", "POST /portfolios", payload=payload
    )
    error = body_of(response)["error"]
    assert response["statusCode"] == 400
    assert len(error["problems"]) == 2
    assert "lots" not in response["body"]
    assert table_count(clean_database, "portfolios") == 0


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"name": "a\u0007bell"}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": "x" * 201}, 400, "name"),
        ({"name": 42}, 400, "name"),
        ({"module": "forestry"}, 400, "module"),
        ({"currency": "euro"}, 400, "currency"),
    ],
)
def test_invalid_fields_rejected(
    portfolio_function: ModuleType, changes: dict, status: int, field: str
) -> None:
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload={**PORTFOLIO, **changes},
    )
    assert response["statusCode"] == status, response["body"]
    fields = [p.get("field") for p in body_of(response)["error"]["problems"]]
    assert field in fields


def test_name_with_sql_and_emoji_round_trips(portfolio_function: ModuleType) -> None:
    name = 'Robert\'); DROP TABLE portfolios;-- "quoted" 🌍 \\ %s :name'
    created = create(portfolio_function, payload={**PORTFOLIO, "name": name})
    loaded = body_of(one(portfolio_function, "GET", created["id"]))
    assert loaded["name"] == name


def test_portfolio_limit_message(
    portfolio_function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PORTFOLIOS_PER_USER", "1")
    function = load_function("portfolio", fresh=True)
    try:
        create(function)
        response = call(
            function, "POST", "/portfolios", "POST /portfolios", payload=PORTFOLIO
        )
    finally:
        function.reset_database()
    assert response["statusCode"] == 409
    assert "MAX_PORTFOLIOS_PER_USER" in body_of(response)["error"]["message"]


def test_holdings_limit_message(
    portfolio_function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PORTFOLIO_HOLDINGS", "2")
    function = load_function("portfolio", fresh=True)
    try:
        response = call(
            function, "POST", "/portfolios", "POST /portfolios", payload=PORTFOLIO
        )
    finally:
        function.reset_database()
    assert response["statusCode"] == 413
    assert "MAX_PORTFOLIO_HOLDINGS" in body_of(response)["error"]["message"]


def test_owner_fields_in_body_ignored(portfolio_function: ModuleType) -> None:
    payload = {**PORTFOLIO, "owner": BOB["sub"], "owner_sub": BOB["sub"], "sub": "x"}
    created = create(portfolio_function, payload=payload)
    as_bob = one(portfolio_function, "GET", created["id"], claims=BOB)
    as_alice = one(portfolio_function, "GET", created["id"])
    assert as_bob["statusCode"] == 404
    assert as_alice["statusCode"] == 200


# Authorization -----------------------------------------------------------

ROUTES = [
    ("GET", "/portfolios", "GET /portfolios", None),
    ("POST", "/portfolios", "POST /portfolios", PORTFOLIO),
    ("GET", "/account/data", "GET /account/data", None),
    ("DELETE", "/account/data", "DELETE /account/data", None),
]


@pytest.mark.parametrize("claims", [None, {}, {"sub": ""}, {"sub": 7}])
def test_routes_need_a_subject(
    portfolio_function: ModuleType, claims: dict | None
) -> None:
    for method, path, route_key, payload in ROUTES:
        response = call(
            portfolio_function, method, path, route_key, claims=claims, payload=payload
        )
        assert response["statusCode"] == 401, route_key
    for method, suffix in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/dashboard"),
    ]:
        response = one(
            portfolio_function,
            method,
            str(uuid.uuid4()),
            suffix,
            claims=claims,
            payload=PORTFOLIO if method == "PUT" else None,
            headers={"if-match": '"1"'},
        )
        assert response["statusCode"] == 401, (method, suffix)


def _per_portfolio_calls(function: ModuleType, portfolio_id: str, claims: dict):
    yield "GET", one(function, "GET", portfolio_id, claims=claims)
    yield (
        "GET dashboard",
        one(function, "GET", portfolio_id, "/dashboard", claims=claims),
    )
    yield (
        "PUT",
        one(
            function,
            "PUT",
            portfolio_id,
            claims=claims,
            payload={**PORTFOLIO, "name": "taken over"},
            headers={"if-match": '"1"'},
        ),
    )
    yield "DELETE", one(function, "DELETE", portfolio_id, claims=claims)
    yield (
        "DELETE if-match",
        one(
            function, "DELETE", portfolio_id, claims=claims, headers={"if-match": '"1"'}
        ),
    )


def test_two_users_matrix(
    portfolio_function: ModuleType, clean_database: PostgresServer
) -> None:
    owners = {"alice": ALICE, "bob": BOB}
    created = {
        name: create(portfolio_function, claims=claims)
        for name, claims in owners.items()
    }
    missing_id = str(uuid.uuid4())

    for caller, claims in owners.items():
        for owner in owners:
            if owner == caller:
                continue
            foreign = created[owner]["id"]
            for label, response in _per_portfolio_calls(
                portfolio_function, foreign, claims
            ):
                absent = dict(
                    _per_portfolio_calls(portfolio_function, missing_id, claims)
                )[label]
                assert response["statusCode"] == 404, (caller, owner, label)
                assert body_of(response) == body_of(absent), (caller, owner, label)

        listed = body_of(
            call(
                portfolio_function,
                "GET",
                "/portfolios",
                "GET /portfolios",
                claims=claims,
            )
        )
        assert [p["id"] for p in listed["portfolios"]] == [created[caller]["id"]]
        exported = body_of(
            call(
                portfolio_function,
                "GET",
                "/account/data",
                "GET /account/data",
                claims=claims,
            )
        )
        assert [p["id"] for p in exported["portfolios"]] == [created[caller]["id"]]

    for name, claims in owners.items():
        loaded = body_of(
            one(portfolio_function, "GET", created[name]["id"], claims=claims)
        )
        assert loaded["version"] == 1
        assert loaded["name"] == PORTFOLIO["name"]
        assert len(loaded["holdings"]) == 3
    assert table_count(clean_database, "deleted_portfolios") == 0


@pytest.mark.parametrize("bad_id", ["1", "not-a-uuid", "' OR '1'='1", "%00"])
def test_malformed_id_not_found(portfolio_function: ModuleType, bad_id: str) -> None:
    response = one(portfolio_function, "GET", bad_id)
    assert response["statusCode"] == 404
    assert body_of(response)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "sep=\u00e9\nname,code\nfoo,0111\n".encode(),
            {"reason": "unsupported separator in the sep= line"},
        ),
        (
            b"code,amount\n0111,1e308\n",
            {
                "reason": "amount is larger than the maximum of 1e18",
                "row": 2,
                "field": "amount",
            },
        ),
        (
            b"code,amount\n0111,5 USD\n0112,7 EUR\n",
            {
                "reason": "the amount's currency differs from the currency of an"
                " earlier amount",
                "row": 3,
                "field": "amount",
            },
        ),
    ],
    ids=["sep-line", "amount-maximum", "mixed-currency"],
)
def test_save_rejects_unreadable_csv(
    portfolio_function: ModuleType, content: bytes, problem: dict[str, Any]
) -> None:
    response = call(
        portfolio_function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=content,
        headers={"content-type": "text/csv"},
        query={"name": "Checked"},
    )

    assert response["statusCode"] == 400
    assert body_of(response)["error"]["problems"] == [problem]
