"""Shared helpers for the ENCORE tests: writable copies of the real release."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

DEPENDENCY_FILE = "ENCORE files/06. Dependency mat ratings.csv"
PRESSURE_FILE = "ENCORE files/07. Pressure mat ratings.csv"
GICS_FILE = "Crosswalk tables/GICS - ENCORE production processes - ISIC .xlsx"


def copy_release(source: Path, target: Path) -> Path:
    """Copy a release's two folders to ``target``, writable, and return it."""
    for folder in ("ENCORE files", "Crosswalk tables"):
        shutil.copytree(source / folder, target / folder)
        (target / folder).chmod(0o755)
        for path in (target / folder).iterdir():
            path.chmod(0o644)
    return target


def edit_csv(
    path: Path, edit: Callable[[list[list[str]]], None], encoding: str = "utf-8-sig"
) -> None:
    """Rewrite a CSV after ``edit(records)`` changed its records in place."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding), newline="")))
    edit(records)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    path.write_text(buffer.getvalue(), encoding=encoding, newline="")
