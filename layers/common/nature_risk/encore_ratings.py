"""Parsing of the two materiality rating files into activities and matrices.

The dependency file defines the activities. The pressure file is joined to it
by activity name because the two files order and code some rows differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nature_risk.encore_files import (
    KnowledgeBaseError,
    SourceFile,
    clean_text,
    column_index,
    decode_csv,
    find_header,
    is_blank,
)
from nature_risk.isic import IsicCode, parse_unique_code
from nature_risk.knowledge_base_types import RATING_INDEX, RATINGS, Activity

_ISIC_COLUMNS = (
    ("code", ("ISIC Unique code",)),
    ("section", ("ISIC Section",)),
    ("division", ("ISIC Division",)),
    ("group", ("ISIC Group",)),
    ("class", ("ISIC Class",)),
    ("level", ("ISIC level used for analysis",)),
)
_LEVELS = {"group": "group", "class": "class"}


@dataclass(frozen=True, slots=True)
class _RatingRow:
    row: int
    code: IsicCode
    unique_code: str
    section: str
    division: str
    group: str
    class_name: str
    level: str
    ratings: list[int]

    @property
    def name(self) -> str:
        return self.class_name or self.group


def read_rating_file(source: SourceFile) -> tuple[list[str], list[_RatingRow]]:
    """Parse a materiality ratings file: the rated columns and one row per activity."""
    records = decode_csv(source)
    header_at = find_header(records, source, "ISIC Unique code")
    header = records[header_at]
    header_row = header_at + 1
    positions = {
        key: column_index(header, source, header_row, names)
        for key, names in _ISIC_COLUMNS
    }
    rated = [i for i in range(len(header)) if i not in positions.values()]
    if not rated:
        raise KnowledgeBaseError(
            "no rating columns after the ISIC columns",
            file=source.relative_path,
            row=header_row,
        )
    columns = [clean_text(header[i]) for i in rated]
    for i, name in zip(rated, columns, strict=True):
        if not name:
            raise KnowledgeBaseError(
                "rating column has no name",
                file=source.relative_path,
                row=header_row,
                column=f"#{i + 1}",
            )

    rows = []
    for offset, record in enumerate(records[header_at + 1 :]):
        row = header_row + 1 + offset
        if is_blank(record):
            continue
        rows.append(_parse_rating_row(source, header, positions, rated, record, row))
    if not rows:
        raise KnowledgeBaseError("has no activity rows", file=source.relative_path)
    return columns, rows


def _parse_rating_row(
    source: SourceFile,
    header: list[str],
    positions: dict[str, int],
    rated: list[int],
    record: list[str],
    row: int,
) -> _RatingRow:
    file = source.relative_path
    if len(record) != len(header):
        raise KnowledgeBaseError(
            f"has {len(record)} cells where the header has {len(header)}",
            file=file,
            row=row,
        )

    def cell(key: str) -> str:
        return clean_text(record[positions[key]])

    unique_code = cell("code")
    code = parse_unique_code(unique_code)
    if code is None:
        raise KnowledgeBaseError(
            "is not an ISIC unique code like A_1_11_111",
            file=file,
            row=row,
            column=clean_text(header[positions["code"]]),
        )
    level = _LEVELS.get(cell("level").casefold())
    if level is None:
        raise KnowledgeBaseError(
            "must be Group or Class",
            file=file,
            row=row,
            column=clean_text(header[positions["level"]]),
        )
    for key in ("section", "division", "group"):
        if not cell(key):
            raise KnowledgeBaseError(
                "is empty",
                file=file,
                row=row,
                column=clean_text(header[positions[key]]),
            )
    ratings = []
    for i in rated:
        value = record[i].strip()
        position = RATING_INDEX.get(value)
        if position is None:
            raise KnowledgeBaseError(
                f"rating must be one of {', '.join(RATINGS)}",
                file=file,
                row=row,
                column=clean_text(header[i]),
            )
        ratings.append(position)
    return _RatingRow(
        row=row,
        code=code,
        unique_code=unique_code,
        section=cell("section"),
        division=cell("division"),
        group=cell("group"),
        class_name=cell("class"),
        level=level,
        ratings=ratings,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def build_activities(
    source: SourceFile, rows: list[_RatingRow]
) -> tuple[Activity, ...]:
    """Make one activity per row; (code, class name) must be unique."""
    code_counts: dict[str, int] = {}
    for rating_row in rows:
        code_counts[rating_row.unique_code] = (
            code_counts.get(rating_row.unique_code, 0) + 1
        )
    activities = []
    seen: dict[str, int] = {}
    for rating_row in rows:
        activity_id = rating_row.unique_code
        if code_counts[activity_id] > 1:
            if not rating_row.class_name:
                raise KnowledgeBaseError(
                    "code appears on several rows, so ISIC Class must tell them apart",
                    file=source.relative_path,
                    row=rating_row.row,
                    column="ISIC Class",
                )
            activity_id = f"{activity_id}:{_slug(rating_row.class_name)}"
        if activity_id in seen:
            raise KnowledgeBaseError(
                f"repeats the activity of row {seen[activity_id]}",
                file=source.relative_path,
                row=rating_row.row,
                column="ISIC Unique code",
            )
        seen[activity_id] = rating_row.row
        code = rating_row.code
        activities.append(
            Activity(
                activity_id=activity_id,
                isic_unique_code=rating_row.unique_code,
                section_code=code.section or "",
                section_name=rating_row.section,
                division_code=code.division or "",
                division_name=rating_row.division,
                group_code=code.group or "",
                group_name=rating_row.group,
                class_code=code.class_,
                class_name=rating_row.class_name or None,
                level=rating_row.level,
                name=rating_row.name,
            )
        )
    return tuple(activities)


def align_pressure_rows(
    source: SourceFile, activities: tuple[Activity, ...], rows: list[_RatingRow]
) -> np.ndarray:
    """Order the pressure rows like the dependency rows.

    The two files list activities in different orders and code four food
    activities differently (``C_10_101_1010`` vs ``C_10_101``), so rows are
    joined on the activity name. The codes must then agree, or the pressure
    file's code must be the group of the dependency file's class code.
    """
    by_name: dict[str, list[int]] = {}
    for position, activity in enumerate(activities):
        by_name.setdefault(activity.name.casefold(), []).append(position)
    matrix = np.full((len(activities), len(rows[0].ratings)), -1, dtype=np.int8)
    for rating_row in rows:
        candidates = [
            position
            for position in by_name.get(rating_row.name.casefold(), [])
            if _codes_agree(activities[position].isic_unique_code, rating_row)
        ]
        if len(candidates) != 1:
            raise KnowledgeBaseError(
                "activity matches no row of the dependency ratings file",
                file=source.relative_path,
                row=rating_row.row,
                column="ISIC Unique code",
            )
        if matrix[candidates[0], 0] != -1:
            raise KnowledgeBaseError(
                "repeats an activity",
                file=source.relative_path,
                row=rating_row.row,
                column="ISIC Unique code",
            )
        matrix[candidates[0]] = rating_row.ratings
    missing = np.flatnonzero(matrix[:, 0] == -1)
    if missing.size:
        raise KnowledgeBaseError(
            f"has no row for activity {activities[missing[0]].activity_id}",
            file=source.relative_path,
        )
    return matrix


def _codes_agree(dependency_code: str, rating_row: _RatingRow) -> bool:
    return dependency_code == rating_row.unique_code or dependency_code.startswith(
        rating_row.unique_code + "_"
    )
