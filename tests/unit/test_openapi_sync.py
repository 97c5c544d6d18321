"""The committed OpenAPI document matches the one the code generates."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

from infra.local.openapi import DOCUMENT_PATH, generate
from tests.events import http_event, lambda_context
from tests.functions import load_function


@pytest.fixture(scope="module")
def generated() -> str:
    return generate()


@pytest.fixture(scope="module")
def document(generated: str) -> dict:
    return json.loads(generated)


def test_committed_document_is_current(generated: str) -> None:
    committed = DOCUMENT_PATH.read_text(encoding="utf-8")

    # On failure, run `make openapi` and commit docs/openapi.json.
    assert committed == generated


def test_document_is_valid_openapi(document: dict) -> None:
    validate(document)


def test_route_keys_match_resolver() -> None:
    dashboard = load_function("dashboard")
    resolver = dashboard.app
    # The resolver keeps its routes in private lists; nothing public lists them.
    registered = {
        f"{route.method.upper()} {re.sub(r'<(\w+)>', r'{\1}', route.path)}"
        for route in [*resolver._static_routes, *resolver._dynamic_routes]
    }

    assert set(dashboard.route_keys()) == registered


def test_upload_routes_document_three_media_types(document: dict) -> None:
    uploads = [
        (path, operations["post"])
        for path, operations in document["paths"].items()
        if path.startswith("/dashboards/") and "post" in operations
    ]

    assert uploads
    for path, operation in uploads:
        content = operation["requestBody"]["content"]
        assert set(content) == {
            "application/json",
            "text/csv",
            "multipart/form-data",
        }, path
        assert {"400", "413", "415", "422"} <= set(operation["responses"]), path


def test_every_operation_documents_errors(document: dict) -> None:
    error_ref = "#/components/schemas/ErrorResponse"

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            invalid = operation["responses"]["422"]["content"]["application/json"]
            assert invalid["schema"]["$ref"] == error_ref, (method, path)
            assert "200" in operation["responses"], (method, path)


def test_swagger_ui_embeds_request_bodies() -> None:
    dashboard = load_function("dashboard")
    response = dashboard.app.resolve(http_event("GET", "/swagger"), lambda_context())

    assert response["statusCode"] == 200
    assert "multipart/form-data" in response["body"]
    assert "NaturalCapitalRequest" in response["body"]
