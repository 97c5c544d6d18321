"""A failed transaction never leaves a connection out of step with the server.

pg8000 can raise half-way through a statement, for example when it cannot
encode a parameter as UTF-8. Such a connection may still owe replies, so the
next request on it would read another statement's rows. These tests check
that such a connection is discarded, that a clean failure keeps it, and that
one user's bad request never shows another user's rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nature_risk.config.database import PortfolioLimits
from nature_risk.errors import NotFound
from nature_risk.storage import portfolios as repository
from nature_risk.storage.db import DatabaseFailure

from infra.local.postgres import PostgresServer
from tests.events import http_event, lambda_context
from tests.functions import load_function
from tests.integration.test_portfolio_storage import database_for, draft

LIMITS = PortfolioLimits()
ALICE = {"sub": "alice-0001"}
BOB = {"sub": "bob-0002"}
SECRET_NAME = "Alice private book"
LONE_SURROGATE_HOLDINGS = [
    {"name": "Example Farms", "code": "0111", "amount": 1},
    {"name": "a\ud800b", "code": "0111", "amount": 1},
]


def unchecked_json(portfolio: repository.PortfolioDraft) -> str:
    return json.dumps(portfolio.holdings, ensure_ascii=False)


def backend_pid(connection: Any) -> int:
    return connection.run("SELECT pg_backend_pid()")[0][0]


# The transaction wrapper ---------------------------------------------------


def test_encode_error_discards_connection(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = backend_pid(connection)
    with pytest.raises(UnicodeEncodeError):
        with database.transaction() as connection:
            connection.run("SELECT CAST(:value AS text)", value="a\ud800b")
    with database.transaction() as connection:
        assert backend_pid(connection) != first_pid
        assert connection.run("SELECT 41 + 1") == [[42]]


def test_runtime_error_discards_connection(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = backend_pid(connection)
    with pytest.raises(RuntimeError):
        with database.transaction() as connection:
            connection.run("SELECT 1")
            raise RuntimeError("injected failure between statements")
    with database.transaction() as connection:
        assert backend_pid(connection) != first_pid


def test_interrupt_discards_connection(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = backend_pid(connection)
    with pytest.raises(KeyboardInterrupt):
        with database.transaction():
            raise KeyboardInterrupt
    with database.transaction() as connection:
        assert backend_pid(connection) != first_pid


def test_product_error_keeps_connection(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = backend_pid(connection)
    with pytest.raises(NotFound):
        with database.transaction() as connection:
            repository.get_portfolio(connection, "alice", uuid.UUID(int=0))
    with database.transaction() as connection:
        assert backend_pid(connection) == first_pid


def test_server_error_keeps_connection(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = backend_pid(connection)
    with pytest.raises(DatabaseFailure):
        with database.transaction() as connection:
            connection.run("SELECT CAST(:value AS integer)", value="not a number")
    with database.transaction() as connection:
        assert backend_pid(connection) == first_pid
        assert connection.run("SELECT 41 + 1") == [[42]]


def test_encode_error_writes_nothing(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    monkeypatch = pytest.MonkeyPatch()
    # Skip the input check, so the unencodable text reaches pg8000.
    monkeypatch.setattr(repository, "_holdings_json", unchecked_json)
    try:
        with pytest.raises(UnicodeEncodeError):
            with database.transaction() as connection:
                repository.create_portfolio(
                    connection, "alice", draft(holdings=LONE_SURROGATE_HOLDINGS), LIMITS
                )
    finally:
        monkeypatch.undo()
    with database.transaction() as connection:
        page = repository.list_portfolios(connection, "alice", 10)
    assert page.items == []


# Two users on one warm function ---------------------------------------------


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
    route_key: str,
    path: str,
    claims: dict[str, str],
    payload: Any = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    method = route_key.split(" ", 1)[0]
    headers = {"content-type": "application/json"} if payload is not None else {}
    body = None if payload is None else json.dumps(payload).encode("ascii")
    event = http_event(
        method,
        path,
        headers=headers,
        body=body,
        route_key=route_key,
        path_parameters=path_parameters,
        claims=claims,
    )
    return function.lambda_handler(event, lambda_context("portfolio"))


def run_cross_user_sequence(function: ModuleType) -> dict[str, Any]:
    """Run Alice's save, her bad save and reads, then Bob's reads.

    Returns every response by step name.
    """
    portfolio = {
        "name": SECRET_NAME,
        "currency": "EUR",
        "holdings": [{"name": "Example Farms", "code": "0111", "amount": 1}],
    }
    responses: dict[str, Any] = {}
    responses["alice_create"] = call(
        function, "POST /portfolios", "/portfolios", ALICE, portfolio
    )
    portfolio_id = json.loads(responses["alice_create"]["body"])["id"]
    responses["alice_bad_create"] = call(
        function,
        "POST /portfolios",
        "/portfolios",
        ALICE,
        {**portfolio, "holdings": LONE_SURROGATE_HOLDINGS},
    )
    responses["alice_list"] = call(function, "GET /portfolios", "/portfolios", ALICE)
    responses["alice_get"] = call(
        function,
        "GET /portfolios/{portfolio_id}",
        f"/portfolios/{portfolio_id}",
        ALICE,
        path_parameters={"portfolio_id": portfolio_id},
    )
    responses["alice_export"] = call(
        function, "GET /account/data", "/account/data", ALICE
    )
    responses["bob_list"] = call(function, "GET /portfolios", "/portfolios", BOB)
    responses["bob_export"] = call(function, "GET /account/data", "/account/data", BOB)
    responses["portfolio_id"] = portfolio_id
    return responses


def assert_isolated(responses: dict[str, Any]) -> None:
    portfolio_id = responses["portfolio_id"]
    alice_list = json.loads(responses["alice_list"]["body"])
    alice_get = json.loads(responses["alice_get"]["body"])
    alice_export = json.loads(responses["alice_export"]["body"])
    bob_list = json.loads(responses["bob_list"]["body"])
    bob_export = json.loads(responses["bob_export"]["body"])
    assert responses["alice_list"]["statusCode"] == 200
    assert [item["id"] for item in alice_list["portfolios"]] == [portfolio_id]
    assert responses["alice_get"]["statusCode"] == 200
    assert alice_get["name"] == SECRET_NAME
    assert responses["alice_export"]["statusCode"] == 200
    assert [item["id"] for item in alice_export["portfolios"]] == [portfolio_id]
    assert responses["bob_list"]["statusCode"] == 200
    assert bob_list["portfolios"] == []
    assert responses["bob_export"]["statusCode"] == 200
    assert bob_export["subject"] == BOB["sub"]
    assert bob_export["portfolios"] == []
    assert SECRET_NAME not in responses["bob_list"]["body"]
    assert SECRET_NAME not in responses["bob_export"]["body"]
    assert portfolio_id not in responses["bob_export"]["body"]


def test_lone_surrogate_rejected_users_isolated(
    portfolio_function: ModuleType,
) -> None:
    responses = run_cross_user_sequence(portfolio_function)
    bad = responses["alice_bad_create"]
    assert bad["statusCode"] == 400
    problems = json.loads(bad["body"])["error"]["problems"]
    assert [problem.get("field") for problem in problems] == ["holdings[1].name"]
    assert_isolated(responses)


def test_driver_failure_leaves_users_isolated(
    portfolio_function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the input checks skipped, the text reaches pg8000, which raises
    # UnicodeEncodeError half-way through the holdings INSERT.
    from nature_risk import tabular

    monkeypatch.setattr(tabular, "unencodable_path", lambda document: None)
    monkeypatch.setattr(repository, "_holdings_json", unchecked_json)
    responses = run_cross_user_sequence(portfolio_function)
    assert responses["alice_bad_create"]["statusCode"] == 500
    assert_isolated(responses)
