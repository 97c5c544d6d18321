"""Fixtures shared by the whole suite: where the data releases are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _data_dir(variable: str, sibling: str) -> Path:
    configured = os.environ.get(variable)
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / sibling
    if not path.is_dir():
        pytest.exit(
            f"{variable} does not name a folder and {path} does not exist", returncode=2
        )
    return path


@pytest.fixture(scope="session")
def encore_dir() -> Path:
    """The ENCORE release folder the suite reads (the newest layout)."""
    return _data_dir("ENCORE_KB_DIR", "encore")


@pytest.fixture(scope="session")
def encore_sept_2025_dir(encore_dir: Path) -> Path:
    """The September 2025 release, kept inside the same download folder."""
    return encore_dir / "Updated ENCORE knowledge base September 2025"


@pytest.fixture(scope="session")
def biodiversity_dir() -> Path:
    """The open biodiversity data folder."""
    return _data_dir("BIODIVERSITY_DATA_DIR", "biodiversity")
