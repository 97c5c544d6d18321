"""The portfolio function's checks of subjects, If-Match, query values and options.

Each test calls ``lambda_handler`` with the event API Gateway would send, on
the TLS-only PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.functions import load_function
from tests.integration.test_portfolio_routes import (
    PORTFOLIO,
    ROUTES,
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
