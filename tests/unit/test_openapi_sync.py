"""The committed OpenAPI document matches the one the code generates."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from infra.local.openapi import DOCUMENT_PATH, generate
from tests.functions import load_function


def test_committed_document_is_current() -> None:
    committed = DOCUMENT_PATH.read_text(encoding="utf-8")

    # On failure, run `make openapi` and commit docs/openapi.json.
    assert committed == generate()


def test_document_is_valid_openapi() -> None:
    validate(json.loads(generate()))


def test_route_keys_match_resolver() -> None:
    dashboard = load_function("dashboard")
    resolver = dashboard.app
    # The resolver keeps its routes in private lists; nothing public lists them.
    registered = {
        f"{route.method.upper()} {re.sub(r'<(\w+)>', r'{\1}', route.path)}"
        for route in [*resolver._static_routes, *resolver._dynamic_routes]
    }

    assert set(dashboard.route_keys()) == registered
