"""Saved-portfolio responses stay inside Lambda's 6 MB response limit.

Each test builds the largest portfolios the limits allow and checks the
serialised Lambda response (``json.dumps`` of the whole response dict, as
Lambda writes it). Small values of the limits' variables show the paging
mechanism quickly, and the full-size tests use the default limits.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nature_risk.config import ConfigurationError
from nature_risk.config.database import PortfolioLimits
from nature_risk.storage import portfolios as repository
from nature_risk.storage.portfolios import PortfolioDraft, escaped_size

from infra.local.postgres import PostgresServer
from tests.functions import load_function
from tests.integration.test_portfolio_routes import (
    ALICE,
    BOB,
    body_of,
    call,
    create,
    one,
)

LAMBDA_RESPONSE_LIMIT = 6_000_000
# Characters that grow most when escaped twice: a quote takes 4 bytes and a
# character outside the Basic Multilingual Plane 12.
QUOTE = '"'
EMOJI = "\U0001f333"


@pytest.fixture
def open_function(
    database_secret: str, encore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Load the portfolio function after a test set its limits' variables."""
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    loaded: list[ModuleType] = []

    def load(**variables: str) -> ModuleType:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        function = load_function("portfolio", fresh=True)
        loaded.append(function)
        return function

    yield load
    for function in loaded:
        function.reset_database()


def response_size(response: dict[str, Any]) -> int:
    return len(json.dumps(response))


def holding(row: int, name: str) -> dict[str, Any]:
    return {"row": row, "name": name, "code": "0111", "amount": float(row)}


def save_direct(
    server: PostgresServer,
    owner: str,
    holdings: list[dict[str, Any]],
    limits: PortfolioLimits | None = None,
    name: str = "Book",
) -> str:
    """Save a portfolio through the repository, skipping the body parser."""
    draft = PortfolioDraft(
        name=name, module="natural_capital", currency="EUR", holdings=holdings
    )
    connection = server.connect()
    try:
        connection.run("START TRANSACTION")
        portfolio = repository.create_portfolio(
            connection, owner, draft, limits or PortfolioLimits()
        )
        connection.run("COMMIT")
    finally:
        connection.close()
    return str(portfolio.id)


def export_pages(
    function: ModuleType, claims: dict[str, str] = ALICE
) -> list[dict[str, Any]]:
    """Follow ``next_cursor`` from the first export page to the last."""
    responses = []
    cursor = None
    while True:
        query = {} if cursor is None else {"cursor": cursor}
        response = call(
            function,
            "GET",
            "/account/data",
            "GET /account/data",
            claims=claims,
            query=query,
        )
        assert response["statusCode"] == 200, response["body"]
        responses.append(response)
        cursor = body_of(response)["next_cursor"]
        if cursor is None:
            return responses
        assert len(responses) < 1_000, "the export does not end"


def join_pages(responses: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Join the parts of each portfolio, checking that no holding repeats or lacks."""
    holdings: dict[str, list[dict[str, Any]]] = {}
    complete: set[str] = set()
    for response in responses:
        for part in body_of(response)["portfolios"]:
            portfolio_id = part["id"]
            assert portfolio_id not in complete, "a portfolio is exported twice"
            joined = holdings.setdefault(portfolio_id, [])
            assert part["holdings_offset"] == len(joined), "holdings skipped"
            joined.extend(part["holdings"])
            if part["holdings_complete"]:
                complete.add(portfolio_id)
    assert complete == set(holdings), "a portfolio's last part is missing"
    return holdings


def test_export_pages_every_holding_once(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function(
        MAX_EXPORT_PAGE_BYTES="30000", MAX_PORTFOLIO_HOLDING_BYTES="3000"
    )
    sizes = [0, 1, 40, 300, 7, 0, 120]
    saved = {}
    for count in sizes:
        holdings = [holding(row + 2, QUOTE * (row % 600)) for row in range(count)]
        saved[save_direct(clean_database, ALICE["sub"], holdings)] = holdings
    save_direct(clean_database, BOB["sub"], [holding(2, "Bob's")])

    responses = export_pages(function)
    exported = join_pages(responses)

    assert len(responses) > 3
    assert exported == saved
    assert list(exported) == list(saved), "not in creation order"
    for number, response in enumerate(responses, start=1):
        assert response_size(response) < 30_000 + 3_000 + 2_000
        assert body_of(response)["page"] == number
        disposition = response["headers"]["Content-Disposition"]
        assert disposition == f'attachment; filename="nature-risk-data-{number}.json"'


def test_export_empty_account(open_function, clean_database: PostgresServer) -> None:
    function = open_function()
    responses = export_pages(function)
    assert len(responses) == 1
    assert body_of(responses[0])["portfolios"] == []


def test_export_full_size_portfolio(
    open_function, clean_database: PostgresServer
) -> None:
    limits = PortfolioLimits()
    function = open_function()
    # Every holding is as large as MAX_PORTFOLIO_HOLDING_BYTES allows, so the
    # first holding of a page can overshoot the page budget the most.
    name = QUOTE * ((limits.max_holding_bytes - 200) // 4)
    largest = [holding(row + 2, name) for row in range(100)]
    assert escaped_size(largest[0]) <= limits.max_holding_bytes
    assert escaped_size(largest[0]) > limits.max_holding_bytes - 1_000
    # Many holdings with long names, as far as the holdings limit allows.
    many = [
        holding(row + 2, EMOJI * 60 + QUOTE * 60) for row in range(limits.max_holdings)
    ]
    saved = {
        save_direct(clean_database, ALICE["sub"], largest): largest,
        save_direct(clean_database, ALICE["sub"], many): many,
    }

    responses = export_pages(function)

    assert join_pages(responses) == saved
    assert len(responses) >= 5
    for response in responses:
        assert response_size(response) < LAMBDA_RESPONSE_LIMIT


def test_export_cursor_after_change(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function(
        MAX_EXPORT_PAGE_BYTES="12000", MAX_PORTFOLIO_HOLDING_BYTES="3000"
    )
    holdings = [holding(row + 2, "Example Farms") for row in range(500)]
    portfolio_id = save_direct(clean_database, ALICE["sub"], holdings)
    first = call(function, "GET", "/account/data", "GET /account/data")
    cursor = body_of(first)["next_cursor"]
    stored = one(function, "GET", portfolio_id)
    replaced = one(
        function,
        "PUT",
        portfolio_id,
        payload={
            "name": "New",
            "currency": "EUR",
            "holdings": [{"name": "Example Mills", "code": "0111"}],
        },
        headers={"if-match": stored["headers"]["ETag"]},
    )

    second = call(
        function, "GET", "/account/data", "GET /account/data", query={"cursor": cursor}
    )

    assert body_of(first)["portfolios"][0]["holdings_complete"] is False
    assert replaced["statusCode"] == 200, replaced["body"]
    assert second["statusCode"] == 409
    assert "Start the export again" in body_of(second)["error"]["message"]


# The last cursor is JSON nested deeper than the decoder can read.
DEEP_CURSOR = base64.urlsafe_b64encode(b"[" * 10_008 + b"]" * 10_008).decode()


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "W10", "WyJ4Il0", pytest.param(DEEP_CURSOR, id="deeply-nested")],
)
def test_export_invalid_cursor(
    open_function, clean_database: PostgresServer, cursor: str
) -> None:
    function = open_function()
    response = call(
        function, "GET", "/account/data", "GET /account/data", query={"cursor": cursor}
    )
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["problems"][0]["field"] == "query.cursor"


def cursor_with_offset(cursor: str, offset: int) -> str:
    fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    fields[2] = offset
    text = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode("ascii").rstrip("=")


@pytest.mark.parametrize("offset", [500, 501, 2**31 - 1])
def test_export_cursor_offset_past_end(
    open_function, clean_database: PostgresServer, offset: int
) -> None:
    function = open_function(
        MAX_EXPORT_PAGE_BYTES="12000", MAX_PORTFOLIO_HOLDING_BYTES="3000"
    )
    holdings = [holding(row + 2, "Example Farms") for row in range(500)]
    save_direct(clean_database, ALICE["sub"], holdings)
    first = call(function, "GET", "/account/data", "GET /account/data")
    cursor = body_of(first)["next_cursor"]

    forged = call(
        function,
        "GET",
        "/account/data",
        "GET /account/data",
        query={"cursor": cursor_with_offset(cursor, offset)},
    )
    last = call(
        function,
        "GET",
        "/account/data",
        "GET /account/data",
        query={"cursor": cursor_with_offset(cursor, 499)},
    )

    assert forged["statusCode"] == 422
    assert body_of(forged)["error"]["problems"][0]["field"] == "query.cursor"
    assert last["statusCode"] == 200
    assert body_of(last)["portfolios"][0]["holdings_complete"] is True


def test_export_cursor_of_other_owner(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function(
        MAX_EXPORT_PAGE_BYTES="12000", MAX_PORTFOLIO_HOLDING_BYTES="3000"
    )
    holdings = [holding(row + 2, "Example Farms") for row in range(500)]
    save_direct(clean_database, ALICE["sub"], holdings)
    cursor = body_of(call(function, "GET", "/account/data", "GET /account/data"))[
        "next_cursor"
    ]

    response = call(
        function,
        "GET",
        "/account/data",
        "GET /account/data",
        claims=BOB,
        query={"cursor": cursor},
    )

    assert response["statusCode"] == 409
    assert "Example Farms" not in response["body"]


def test_save_rejects_oversized_holding(open_function) -> None:
    function = open_function(MAX_PORTFOLIO_HOLDING_BYTES="2000")
    payload = {
        "name": "Book",
        "currency": "EUR",
        "holdings": [
            {"name": "Example Farms", "code": "0111", "amount": 1},
            {"name": QUOTE * 600, "code": "0111", "amount": 1},
        ],
    }
    response = call(
        function, "POST", "/portfolios", "POST /portfolios", payload=payload
    )
    message = body_of(response)["error"]["message"]
    assert response["statusCode"] == 413
    assert "MAX_PORTFOLIO_HOLDING_BYTES" in message
    assert "holdings[1] " in message
    assert QUOTE * 10 not in message


def test_oversized_csv_holding_named_by_row(open_function) -> None:
    function = open_function(MAX_PORTFOLIO_HOLDING_BYTES="2000")
    # Row 3 is blank, so the oversized name is on spreadsheet row 4.
    quoted_name = QUOTE + QUOTE * 2 * 600 + QUOTE
    body = f"name,code,amount\nExample Farms,0111,1\n\n{quoted_name},0111,1\n"
    response = call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body.encode(),
        headers={"content-type": "text/csv"},
        query={"name": "Book", "currency": "EUR"},
    )
    message = body_of(response)["error"]["message"]
    assert response["statusCode"] == 413
    assert "row 4 " in message
    assert QUOTE * 10 not in message


def test_get_portfolio_over_limit(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function()
    limits = PortfolioLimits()
    # 20,000 holdings of 600 escaped bytes or more exceed 6 MB.
    holdings = [holding(row + 2, EMOJI * 50) for row in range(limits.max_holdings)]
    portfolio_id = save_direct(clean_database, ALICE["sub"], holdings)

    response = one(function, "GET", portfolio_id)

    assert response_size(response) < LAMBDA_RESPONSE_LIMIT
    assert response["statusCode"] == 413
    assert "GET /account/data" in body_of(response)["error"]["message"]
    assert response["headers"]["ETag"] == '"1"'


def test_get_portfolio_near_limit(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function()
    limits = PortfolioLimits()
    # About 280 escaped bytes per holding: just under the 6 MB bound.
    holdings = [holding(row + 2, EMOJI * 17) for row in range(limits.max_holdings)]
    portfolio_id = save_direct(clean_database, ALICE["sub"], holdings)

    response = one(function, "GET", portfolio_id)

    assert response["statusCode"] == 200, response["body"][:200]
    assert response_size(response) < LAMBDA_RESPONSE_LIMIT
    assert response_size(response) > LAMBDA_RESPONSE_LIMIT - 1_000_000
    assert len(body_of(response)["holdings"]) == limits.max_holdings


@pytest.fixture
def biodiversity_data(
    biodiversity_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    from nature_risk.biodiversity import get_biodiversity

    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
    monkeypatch.delenv("BIODIVERSITY_PACKS_DIR", raising=False)
    get_biodiversity.cache_clear()
    yield
    get_biodiversity.cache_clear()


def test_mining_save_over_asset_limit(open_function, biodiversity_data) -> None:
    function = open_function(MAX_MINING_ASSETS="2")
    assets = [
        {"name": f"Mine {index}", "latitude": -24.27, "longitude": -69.07}
        for index in range(3)
    ]
    payload = {"name": "Mines", "module": "mining", "currency": "USD"}
    response = call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        payload={**payload, "assets": assets},
    )
    assert response["statusCode"] == 413
    assert "MAX_MINING_ASSETS" in body_of(response)["error"]["message"]


def test_agriculture_save_over_holdings_limit(open_function, biodiversity_data) -> None:
    function = open_function(MAX_AGRICULTURE_HOLDINGS="2")
    body = b"commodity,country,production_tonnes\n" + b"wheat,FR,10\n" * 3
    response = call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": "text/csv"},
        query={"name": "Farms", "module": "agriculture", "currency": "EUR"},
    )
    assert response["statusCode"] == 413
    assert "MAX_AGRICULTURE_HOLDINGS" in body_of(response)["error"]["message"]


def test_mining_dashboard_over_limit(open_function, biodiversity_data) -> None:
    function = open_function()
    # A 4 MB upload of names outside the Basic Multilingual Plane: each
    # character is 4 bytes in the body and 12 in the response envelope.
    assets = [
        {
            "name": EMOJI * 1_000,
            "latitude": -24.27 + index / 1_000,
            "longitude": -69.07,
        }
        for index in range(1_000)
    ]
    payload = {"name": "Mines", "module": "mining", "currency": "USD"}
    body = json.dumps({**payload, "assets": assets}, ensure_ascii=False).encode()
    created = call(
        function,
        "POST",
        "/portfolios",
        "POST /portfolios",
        body=body,
        headers={"content-type": "application/json"},
    )
    assert created["statusCode"] == 201, created["body"]

    response = one(function, "GET", body_of(created)["id"], "/dashboard")

    assert len(body) < 4 * 1024 * 1024
    assert response["statusCode"] == 413
    assert response_size(response) < LAMBDA_RESPONSE_LIMIT
    assert "fewer rows or shorter names" in body_of(response)["error"]["message"]


def test_mining_dashboard_within_limit(open_function, biodiversity_data) -> None:
    function = open_function()
    assets = [
        {"name": f"Mine {index}", "latitude": -24.27, "longitude": -69.07}
        for index in range(20)
    ]
    created = create(
        function,
        payload={
            "name": "Mines",
            "module": "mining",
            "currency": "USD",
            "assets": assets,
        },
    )

    response = one(function, "GET", created["id"], "/dashboard")

    assert response["statusCode"] == 200
    assert response_size(response) < LAMBDA_RESPONSE_LIMIT


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MAX_EXPORT_PAGE_BYTES", "5000001"), ("MAX_PORTFOLIO_HOLDING_BYTES", "500001")],
)
def test_size_limits_have_maximums(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        PortfolioLimits.from_env({variable: value})


def test_natural_capital_dashboard_full_size(
    open_function, clean_database: PostgresServer
) -> None:
    function = open_function()
    limits = PortfolioLimits()
    holdings = [
        holding(row + 2, EMOJI * 60 + QUOTE * 60) for row in range(limits.max_holdings)
    ]
    portfolio_id = save_direct(clean_database, ALICE["sub"], holdings)

    response = one(function, "GET", portfolio_id, "/dashboard")

    assert response["statusCode"] == 200, response["body"][:200]
    assert response_size(response) < LAMBDA_RESPONSE_LIMIT


def test_response_bound_matches_public_routes(open_function) -> None:
    from nature_risk.biodiversity import results

    function = open_function()
    assert function.MAX_RESPONSE_BYTES == results.MAX_RESPONSE_BYTES
    assert function.ENVELOPE_RESERVE_BYTES == results.ENVELOPE_RESERVE_BYTES
