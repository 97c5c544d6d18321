"""Shared helpers for the biodiversity tests: the data loaded once, small packs."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from nature_risk.biodiversity.data import BiodiversityData


@functools.cache
def load_data(folder: Path) -> BiodiversityData:
    """Load the open data once per test session."""
    return BiodiversityData.from_folder(folder)


def write_pack(
    root: Path,
    folder: str,
    *,
    kind: str,
    indicators: list[dict[str, object]],
    header: list[str],
    rows: list[list[object]],
    **manifest: object,
) -> Path:
    """Write a layer pack folder (manifest.json and data.csv) under ``root``."""
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    document = {
        "name": folder,
        "version": "1.0",
        "licence": "Test licence",
        "attribution": "Test attribution",
        "kind": kind,
        "indicators": indicators,
        **manifest,
    }
    (path / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    (path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
