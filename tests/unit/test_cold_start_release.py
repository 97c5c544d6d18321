"""The functions that rate holdings load the ENCORE release at cold start.

A broken release must fail the import of ``app.py``, so Lambda reports an init
error, after one log line that names the file, row and column at fault.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nature_risk.encore_files import KnowledgeBaseError
from nature_risk.knowledge_base import get_knowledge_base
from nature_risk.observability import get_logger

from tests.canary.capture import capture_output
from tests.functions import load_function
from tests.unit.encore_support import DEPENDENCY_FILE, copy_release, edit_csv

FUNCTIONS = ["dashboard", "portfolio"]


@pytest.fixture
def fresh_knowledge_base(
    monkeypatch: pytest.MonkeyPatch, biodiversity_dir: Path
) -> Iterator[None]:
    """Forget the loaded release, before and after, so each import loads it."""
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
    monkeypatch.delenv("ENCORE_KB_SNAPSHOT", raising=False)
    monkeypatch.delenv("ENCORE_RELEASE_NAME", raising=False)
    get_knowledge_base.cache_clear()
    yield
    get_knowledge_base.cache_clear()


@pytest.fixture
def broken_release(tmp_path: Path, encore_dir: Path) -> Path:
    """A copy of the release whose row 2 has an empty ``ISIC Group``."""
    release = copy_release(encore_dir, tmp_path / "release")

    def blank_group(records: list[list[str]]) -> None:
        records[1][3] = ""

    edit_csv(release / DEPENDENCY_FILE, blank_group)
    return release


def start_lines(text: str, message: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == message]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_cold_start_loads_release(
    function: str,
    fresh_knowledge_base: None,
    monkeypatch: pytest.MonkeyPatch,
    encore_dir: Path,
) -> None:
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))

    load_function(function, fresh=True)

    assert get_knowledge_base.cache_info().currsize == 1


@pytest.mark.parametrize("function", FUNCTIONS)
def test_broken_release_stops_cold_start(
    function: str,
    fresh_knowledge_base: None,
    monkeypatch: pytest.MonkeyPatch,
    broken_release: Path,
) -> None:
    monkeypatch.setenv("ENCORE_KB_DIR", str(broken_release))
    get_logger(function)

    with capture_output() as output, pytest.raises(KnowledgeBaseError) as raised:
        load_function(function, fresh=True)

    assert (raised.value.file, raised.value.row) == (DEPENDENCY_FILE, 2)
    [line] = start_lines(output.getvalue(), "Knowledge base invalid")
    assert line["level"] == "ERROR"
    assert line["error_class"] == "KnowledgeBaseError"
    assert line["error_code"] == "knowledge_base_invalid"
    assert line["release_file"] == DEPENDENCY_FILE
    assert line["release_row"] == 2
    assert line["release_column"] == "ISIC Group"
    assert f"{function}_app" not in sys.modules


@pytest.mark.parametrize("function", FUNCTIONS)
def test_missing_release_setting_stops_cold_start(
    function: str,
    fresh_knowledge_base: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from nature_risk.config import ConfigurationError

    monkeypatch.setenv("ENCORE_KB_DIR", str(tmp_path / "absent"))
    get_logger(function)

    with capture_output() as output, pytest.raises(ConfigurationError):
        load_function(function, fresh=True)

    [line] = start_lines(output.getvalue(), "Knowledge base settings invalid")
    assert line["error_code"] == "configuration_invalid"
    assert line["setting"] == "ENCORE_KB_DIR"
    assert str(tmp_path) not in output.getvalue()
