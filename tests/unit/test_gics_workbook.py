"""A broken GICS workbook: 503 for the requests that need it, and no local run.

The workbook is read on the first GICS code unless the snapshot carries its
map, so its problems surface after start-up. They must give a 503 with a
fixed message and a log line naming the file, row and column, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest
from nature_risk.knowledge_base import get_knowledge_base

from tests.canary.capture import capture_output
from tests.events import csv_event, http_event, lambda_context
from tests.functions import load_function
from tests.unit.encore_support import GICS_FILE, copy_release

GICS_CODE = "30202010"


@pytest.fixture(scope="module")
def dashboard(encore_dir: Path, biodiversity_dir: Path) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        yield load_function("dashboard")


@pytest.fixture
def release(tmp_path: Path, encore_dir: Path) -> Path:
    return copy_release(encore_dir, tmp_path / "release")


@pytest.fixture
def serve_release(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make the loaded functions serve ``release`` until the test ends."""

    def serve(release: Path) -> None:
        monkeypatch.setenv("ENCORE_KB_DIR", str(release))
        get_knowledge_base.cache_clear()

    yield serve
    get_knowledge_base.cache_clear()


def garble_workbook(release: Path) -> None:
    (release / GICS_FILE).write_bytes(b"garbage")


def break_code_cell(release: Path) -> None:
    """Write text where row 5 of the workbook has a GICS sub-industry code."""
    workbook = openpyxl.load_workbook(release / GICS_FILE)
    workbook.worksheets[0]["C5"] = "not a code"
    workbook.save(release / GICS_FILE)


REQUESTS = {
    "dashboard": lambda: csv_event(
        "/dashboards/natural-capital", f"name,code\nA,{GICS_CODE}\n"
    ),
    "code search": lambda: http_event(
        "GET",
        "/reference/economic-activities",
        query={"code": GICS_CODE},
        route_key="GET /reference/economic-activities",
    ),
}


def invalid_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "Knowledge base invalid"]


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
def test_unreadable_gics_workbook_is_503(
    dashboard, release, serve_release, request_name
):
    garble_workbook(release)
    serve_release(release)

    with capture_output() as output:
        response = dashboard.lambda_handler(REQUESTS[request_name](), lambda_context())

    assert response["statusCode"] == 503
    error = json.loads(response["body"])["error"]
    assert error["code"] == "service_unavailable"
    assert "knowledge base" in error["message"]
    [line] = invalid_lines(output.getvalue())
    assert line["error_code"] == "knowledge_base_invalid"
    assert line["release_file"] == GICS_FILE
    assert line["status"] == 503


def test_gics_code_cell_logged_with_row(dashboard, release, serve_release):
    break_code_cell(release)
    serve_release(release)

    with capture_output() as output:
        response = dashboard.lambda_handler(REQUESTS["dashboard"](), lambda_context())

    assert response["statusCode"] == 503
    [line] = invalid_lines(output.getvalue())
    assert line["release_file"] == GICS_FILE
    assert line["release_row"] == 5
    assert line["release_column"] == "GICS Sub-Industry Code"
    assert GICS_CODE not in output.getvalue()


def test_broken_gics_read_once(dashboard, release, serve_release, monkeypatch):
    import nature_risk.crosswalks as crosswalks_module

    garble_workbook(release)
    serve_release(release)
    reads = []
    read_gics = crosswalks_module._read_gics
    monkeypatch.setattr(
        crosswalks_module,
        "_read_gics",
        lambda *args: reads.append(args) or read_gics(*args),
    )

    statuses = [
        dashboard.lambda_handler(REQUESTS["dashboard"](), lambda_context())[
            "statusCode"
        ]
        for _ in range(3)
    ]

    assert statuses == [503, 503, 503]
    assert len(reads) == 1


def test_other_codes_served_beside_broken_gics(dashboard, release, serve_release):
    garble_workbook(release)
    serve_release(release)

    event = csv_event("/dashboards/natural-capital", "name,code\nA,0111\n")
    response = dashboard.lambda_handler(event, lambda_context())

    assert response["statusCode"] == 200


def test_local_run_reads_gics_at_start(release, serve_release):
    from infra.local.run import StartupError, load_reference_data

    garble_workbook(release)
    serve_release(release)

    with pytest.raises(StartupError) as raised:
        load_reference_data()

    assert "ENCORE_KB_DIR" in str(raised.value)
    assert GICS_FILE in str(raised.value)
