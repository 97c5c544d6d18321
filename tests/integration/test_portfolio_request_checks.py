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
    ROUTES,
    body_of,
    call,
    create,
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
