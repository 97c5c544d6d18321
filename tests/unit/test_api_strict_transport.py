"""Every response of the product's resolver carries Strict-Transport-Security."""

from __future__ import annotations

import pytest
from nature_risk.api import STRICT_TRANSPORT_SECURITY, create_resolver
from nature_risk.errors import NotFound

from infra.local.events import LambdaContext, build_http_api_event


@pytest.fixture(scope="module")
def resolver():
    app = create_resolver()

    @app.get("/ok")
    def get_ok() -> dict:
        return {"status": "ok"}

    @app.get("/missing")
    def get_missing() -> dict:
        raise NotFound("The portfolio does not exist.")

    @app.get("/broken")
    def get_broken() -> dict:
        raise RuntimeError("unexpected")

    return app


def resolve(app, path: str) -> dict:
    event = build_http_api_event("GET", path, route_key=f"GET {path}")
    return app.resolve(event, LambdaContext("test"))


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ok", 200), ("/missing", 404), ("/broken", 500), ("/no-such-route", 404)],
)
def test_response_carries_hsts(resolver, path, status):
    response = resolve(resolver, path)
    assert response["statusCode"] == status
    assert response["headers"]["Strict-Transport-Security"] == STRICT_TRANSPORT_SECURITY


def test_hsts_lasts_a_year():
    assert "max-age=31536000" in STRICT_TRANSPORT_SECURITY
