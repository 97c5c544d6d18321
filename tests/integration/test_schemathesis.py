"""Property-based requests from the OpenAPI document against the local server.

Schemathesis generates requests for every documented operation, valid and
invalid, and checks each response: no 5xx, and a documented status and body.
Examples are capped per operation so the suite stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import unsupported_method

from infra.local.openapi import DOCUMENT_PATH
from infra.local.run import build_routes
from infra.local.server import LocalApiServer

schema = schemathesis.openapi.from_path(DOCUMENT_PATH)


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = LocalApiServer(build_routes(), port=0, quiet=True)
    server.start()
    yield server.url
    server.stop()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_document(case: schemathesis.Case, api_url: str) -> None:
    # API Gateway answers a method without a route with 404, not 405, and the
    # local server does the same, so that check does not apply.
    case.call_and_validate(
        base_url=api_url, timeout=30, excluded_checks=[unsupported_method]
    )
