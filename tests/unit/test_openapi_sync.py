"""The committed OpenAPI document matches the one the code generates."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from infra.local.openapi import DOCUMENT_PATH, generate
from tests.events import http_event, lambda_context
from tests.functions import load_function

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO_ROOT / "layers" / "common"
FUNCTION_DIR = REPO_ROOT / "functions" / "dashboard"


@pytest.fixture(scope="module", autouse=True)
def data_folders(encore_dir: Path, biodiversity_dir: Path) -> Iterator[None]:
    # The dashboard function loads the release when it is imported.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        yield


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


def test_every_reference_names_a_component(document: dict) -> None:
    text = json.dumps(document)
    names = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))

    assert names
    assert names <= set(document["components"]["schemas"])


def test_cold_start_leaves_document_models_out(encore_dir, biodiversity_dir) -> None:
    # The models in dashboard_schemas only describe bodies in the document.
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(LAYER_DIR)!r}, {str(FUNCTION_DIR)!r}]\n"
        "import app\n"
        "print(*(name in sys.modules for name in ('dashboard_schemas', 'app')))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "ENCORE_KB_DIR": str(encore_dir),
        "BIODIVERSITY_DATA_DIR": str(biodiversity_dir),
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
    )

    assert result.stdout.split() == ["False", "True"]
