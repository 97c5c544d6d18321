"""The ENCORE knowledge base: activities, services, pressures and rating matrices.

``load_knowledge_base`` reads one release folder (``ENCORE files/`` and
``Crosswalk tables/``), validates it and returns an immutable
``KnowledgeBase``. ``get_knowledge_base`` caches the release named by
``ENCORE_KB_DIR``. Any invalid content raises ``KnowledgeBaseError`` naming the
file, row and column, so a broken release fails at start-up.

Ratings are stored as ``numpy.int8`` positions in ``RATINGS``, highest first,
so the highest of several ratings is the minimum position.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nature_risk.crosswalks import Crosswalks, load_crosswalks
from nature_risk.encore_files import (
    ENCORE_FILES_DIR,
    KnowledgeBaseError,
    SourceFile,
    clean_text,
    column_index,
    decode_csv,
    find_file,
    find_header,
    is_blank,
    read_source,
)
from nature_risk.isic import IsicCode, IsicIndex, parse_unique_code

__all__ = [
    "RATINGS",
    "SCORES",
    "Activity",
    "EcosystemService",
    "ExplanatoryNote",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Pressure",
    "Release",
    "SubService",
    "get_knowledge_base",
    "load_knowledge_base",
]

RATINGS: tuple[str, ...] = ("VH", "H", "M", "L", "VL", "ND", "N/A")
"""Materiality ratings, highest first. ND is no data, N/A is no link."""

RATING_INDEX = {rating: position for position, rating in enumerate(RATINGS)}

SCORES: tuple[float | None, ...] = (5.0, 4.0, 3.0, 2.0, 1.0, None, None)
"""Numeric score of each rating in ``RATINGS`` order: VH=5 down to VL=1."""

LICENCE = "CC BY-SA 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

_MONTH_YEAR = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\s+(\d{4})\b",
    re.IGNORECASE,
)
_OVERVIEW_VERSION = re.compile(r"Version:\s*([A-Za-z]+\s+\d{4})")

_ISIC_COLUMNS = (
    ("code", ("ISIC Unique code",)),
    ("section", ("ISIC Section",)),
    ("division", ("ISIC Division",)),
    ("group", ("ISIC Group",)),
    ("class", ("ISIC Class",)),
    ("level", ("ISIC level used for analysis",)),
)
_LEVELS = {"group": "group", "class": "class"}
_LABEL_STOPWORDS = frozenset({"and", "of", "to", "the", "service", "services"})


@dataclass(frozen=True, slots=True)
class Activity:
    """One ENCORE economic activity (a row of the rating files).

    ``activity_id`` is the code a holding may use to select exactly this row.
    It is the ISIC unique code, unless several rows share that code (the nine
    ``D_35_351`` power rows). Those rows add a colon and the class name in
    lower case with hyphens, e.g. ``D_35_351:solar-energy-production``.
    """

    activity_id: str
    isic_unique_code: str
    section_code: str
    section_name: str
    division_code: str
    division_name: str
    group_code: str
    group_name: str
    class_code: str | None
    class_name: str | None
    level: str
    name: str

    def to_dict(self) -> dict[str, object]:
        """Return the activity as JSON-ready fields."""
        return {
            "activity_id": self.activity_id,
            "isic_unique_code": self.isic_unique_code,
            "name": self.name,
            "level": self.level,
            "section": {"code": self.section_code, "name": self.section_name},
            "division": {"code": self.division_code, "name": self.division_name},
            "group": {"code": self.group_code, "name": self.group_name},
            "class": {"code": self.class_code, "name": self.class_name},
        }


@dataclass(frozen=True, slots=True)
class SubService:
    """A Level-2 ecosystem service under a rated (Level-1) service."""

    name: str
    definition: str | None


@dataclass(frozen=True, slots=True)
class EcosystemService:
    """A rated ecosystem service (a column of the dependency ratings file).

    ``definition`` is None when the definitions file defines the service only
    through its Level-2 sub-services.
    """

    name: str
    category: str | None
    definition: str | None
    sub_services: tuple[SubService, ...]


@dataclass(frozen=True, slots=True)
class Pressure:
    """A rated pressure on nature (a column of the pressure ratings file)."""

    name: str
    definition: str | None


@dataclass(frozen=True, slots=True)
class ExplanatoryNote:
    """A note from the release's explanatory notes file."""

    number: str
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Release:
    """The loaded release: its name, the source of that name, and file hashes.

    ``name_source`` is ``configured`` (ENCORE_RELEASE_NAME), ``overview``
    (the release's overview workbook), ``folder`` (the folder name) or
    ``none``. ``files`` maps each file read to its SHA-256 in hex.
    """

    name: str
    version: str | None
    name_source: str
    attribution: str
    files: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        """Return the release as JSON-ready fields."""
        return {
            "name": self.name,
            "version": self.version,
            "name_source": self.name_source,
            "attribution": self.attribution,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
            "files": dict(self.files),
        }


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """A loaded, validated ENCORE release.

    ``dependency_ratings`` is activities x ecosystem services and
    ``pressure_ratings`` activities x pressures, both ``numpy.int8`` positions
    in ``RATINGS``, read-only.
    """

    release: Release
    activities: tuple[Activity, ...]
    ecosystem_services: tuple[EcosystemService, ...]
    pressures: tuple[Pressure, ...]
    dependency_ratings: np.ndarray
    pressure_ratings: np.ndarray
    crosswalks: Crosswalks
    explanatory_notes: tuple[ExplanatoryNote, ...]
    isic_index: IsicIndex
    activity_index: dict[str, int] = field(repr=False)
    unique_code_index: dict[str, tuple[int, ...]] = field(repr=False)

    def activity(self, activity_id: str) -> Activity:
        """Return the activity with this ``activity_id``; raise KeyError if none."""
        return self.activities[self.activity_index[activity_id]]

    def service_index(self, name: str) -> int | None:
        """Return the column of the ecosystem service named ``name`` (any case)."""
        key = label_key(name)
        for position, service in enumerate(self.ecosystem_services):
            if label_key(service.name) == key:
                return position
        return None

    @property
    def water_supply_note(self) -> ExplanatoryNote | None:
        """The release's note advising to consider excluding water supply."""
        for note in self.explanatory_notes:
            if note.subject.casefold().startswith("water supply"):
                return note
        return None


def label_key(label: str) -> frozenset[str]:
    """Reduce a service or pressure name to its significant words.

    The definitions files spell names differently from the rating files
    (``Pollination services`` vs ``Pollination``, ``pollutants to water and
    soil`` vs ``soil and water pollutants``), so names are compared as sets of
    words without brackets, asterisks, hyphens and filler words.
    """
    text = re.sub(r"\([^)]*\)", " ", label.casefold())
    text = re.sub(r"[*\-,]", " ", text)
    return frozenset(word for word in text.split() if word not in _LABEL_STOPWORDS)


# --- rating files -----------------------------------------------------------


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


def _read_rating_file(source: SourceFile) -> tuple[list[str], list[_RatingRow]]:
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


def _build_activities(
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


def _align_pressure_rows(
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


# --- definitions and notes --------------------------------------------------


def _read_service_definitions(
    source: SourceFile, service_names: list[str]
) -> tuple[EcosystemService, ...]:
    """Attach definitions, categories and Level-2 services to the rated services.

    The body runs from the header to the first blank record. A record with only
    its first cell filled is a category (``Provisioning services``). An empty
    Level-1 cell continues the Level-1 service above. Where Level 2 is filled,
    the definition belongs to the Level-2 service.
    """
    file = source.relative_path
    records = decode_csv(source)
    header_at = find_header(records, source, "Level 1")
    header = records[header_at]
    level1 = column_index(header, source, header_at + 1, ("Level 1",))
    level2 = column_index(header, source, header_at + 1, ("Level 2",))
    definition_at = column_index(header, source, header_at + 1, ("Definition",))

    entries: dict[frozenset[str], dict[str, object]] = {}
    category = None
    current: dict[str, object] | None = None
    for offset, record in enumerate(records[header_at + 1 :]):
        row = header_at + 2 + offset
        if is_blank(record):
            break
        cells = [clean_text(cell) for cell in record] + ["", "", ""]
        name, sub_name, definition = cells[level1], cells[level2], cells[definition_at]
        if name and not sub_name and not definition:
            category = name
            current = None
            continue
        if name:
            key = label_key(name)
            if key in entries:
                raise KnowledgeBaseError(
                    "repeats a Level-1 service",
                    file=file,
                    row=row,
                    column=header[level1],
                )
            current = {"category": category, "definition": None, "subs": []}
            entries[key] = current
        elif current is None:
            raise KnowledgeBaseError(
                "Level-2 service has no Level-1 service above it",
                file=file,
                row=row,
                column=header[level1],
            )
        if sub_name:
            current["subs"].append(SubService(sub_name, definition or None))
        elif name:
            current["definition"] = definition or None

    services = []
    for name in service_names:
        entry = entries.get(label_key(name))
        if entry is None:
            raise KnowledgeBaseError(
                f"no definition for the rated ecosystem service {name!r}",
                file=file,
                column=header[level1],
            )
        services.append(
            EcosystemService(
                name=name,
                category=entry["category"],
                definition=entry["definition"],
                sub_services=tuple(entry["subs"]),
            )
        )
    return tuple(services)


def _read_pressure_definitions(
    source: SourceFile, pressure_names: list[str]
) -> tuple[Pressure, ...]:
    """Attach a definition to each rated pressure; the body ends at a blank record."""
    file = source.relative_path
    records = decode_csv(source)
    header_at = find_header(records, source, "Pressure")
    header = records[header_at]
    name_at = column_index(header, source, header_at + 1, ("Pressure",))
    definition_at = column_index(header, source, header_at + 1, ("Definition",))
    definitions: dict[frozenset[str], str] = {}
    for record in records[header_at + 1 :]:
        if is_blank(record):
            break
        cells = [clean_text(cell) for cell in record] + ["", ""]
        definitions[label_key(cells[name_at])] = cells[definition_at]
    pressures = []
    for name in pressure_names:
        definition = definitions.get(label_key(name))
        if definition is None:
            raise KnowledgeBaseError(
                f"no definition for the rated pressure {name!r}",
                file=file,
                column=header[name_at],
            )
        pressures.append(Pressure(name, definition or None))
    return tuple(pressures)


def _read_explanatory_notes(source: SourceFile) -> tuple[ExplanatoryNote, ...]:
    records = decode_csv(source)
    header_at = find_header(records, source, "No.")
    header = records[header_at]
    subject_at = column_index(header, source, header_at + 1, ("Subject",))
    note_at = column_index(header, source, header_at + 1, ("Note",))
    notes = []
    for record in records[header_at + 1 :]:
        if is_blank(record):
            break
        cells = [cell.strip() for cell in record] + ["", "", ""]
        notes.append(
            ExplanatoryNote(
                cells[0], clean_text(cells[subject_at]), cells[note_at].strip()
            )
        )
    return tuple(notes)


# --- release name ------------------------------------------------------------


def _overview_version(source: SourceFile) -> str | None:
    """Read ``Version: <Month YYYY>`` from the overview workbook's shared strings.

    Scanning the workbook's XML avoids importing openpyxl at start-up.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(source.data)) as workbook:
            strings = workbook.read("xl/sharedStrings.xml").decode("utf-8")
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        raise KnowledgeBaseError(
            "is not a readable xlsx workbook", file=source.relative_path
        ) from None
    match = _OVERVIEW_VERSION.search(strings)
    return clean_text(match.group(1)) if match else None


def _release_identity(
    folder: Path, overview: SourceFile | None, configured: str | None
) -> tuple[str, str | None, str]:
    """Return (name, version, name_source) for the release."""
    if configured:
        match = _MONTH_YEAR.search(configured)
        return configured, match.group(0) if match else configured, "configured"
    if overview is not None:
        version = _overview_version(overview)
        if version:
            return f"ENCORE knowledge base, version {version}", version, "overview"
    match = _MONTH_YEAR.search(folder.name)
    if match:
        return clean_text(folder.name), match.group(0), "folder"
    return "ENCORE knowledge base (version not stated)", None, "none"


def attribution_text(version: str | None) -> str:
    """Return the citation and licence statement the knowledge base requires."""
    stated = version or "version not stated in the release folder"
    return (
        "ENCORE Partners (Global Canopy, UNEP FI, and UNEP-WCMC) (2024). ENCORE: "
        f"Exploring Natural Capital Opportunities, Risks and Exposure. [On-line], "
        f"{stated}, Cambridge, UK: ENCORE Partners. Available at: "
        "https://encorenature.org/en. DOI: https://doi.org/10.34892/dz3x-y059. "
        f"Used under {LICENCE} ({LICENCE_URL}). Changes: materiality ratings "
        "aggregated by portfolio exposure; the results are shared under the "
        "same licence."
    )


# --- loading -----------------------------------------------------------------


def _require(folder: Path, stem: str, label: str) -> SourceFile:
    path = find_file(folder, (ENCORE_FILES_DIR,), stem, ".csv")
    if path is None:
        raise KnowledgeBaseError(
            f"the {label} file is missing", file=f"{ENCORE_FILES_DIR}/"
        )
    return read_source(folder, path)


def _optional(folder: Path, stem: str, suffix: str) -> SourceFile | None:
    path = find_file(folder, (ENCORE_FILES_DIR,), stem, suffix)
    return read_source(folder, path) if path else None


def load_knowledge_base(folder: Path, release_name: str | None = None) -> KnowledgeBase:
    """Load and validate the ENCORE release in ``folder``.

    Required: the ecosystem-service and pressure definitions and the two
    materiality rating files in ``ENCORE files/``. Optional: the explanatory
    notes, the overview workbook and the crosswalk tables. ``release_name``
    overrides the name derived from the overview workbook or the folder.
    Raises ``KnowledgeBaseError`` on the first problem found.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KnowledgeBaseError("release folder does not exist")
    services_file = _require(
        folder, r"ecosystem services? definitions", "ecosystem services definitions"
    )
    pressures_file = _require(folder, r"pressures? definitions", "pressure definitions")
    dependency_file = _require(
        folder, r"dependency mat(eriality)? ratings", "dependency materiality ratings"
    )
    pressure_file = _require(
        folder, r"pressures? mat(eriality)? ratings", "pressure materiality ratings"
    )
    notes_file = _optional(folder, r"explanatory notes", ".csv")
    overview_file = _optional(folder, r"overview\b.*", ".xlsx")

    service_names, dependency_rows = _read_rating_file(dependency_file)
    activities = _build_activities(dependency_file, dependency_rows)
    dependency_ratings = np.array(
        [rating_row.ratings for rating_row in dependency_rows], dtype=np.int8
    )
    pressure_names, pressure_rows = _read_rating_file(pressure_file)
    pressure_ratings = _align_pressure_rows(pressure_file, activities, pressure_rows)
    services = _read_service_definitions(services_file, service_names)
    pressures = _read_pressure_definitions(pressures_file, pressure_names)
    notes = _read_explanatory_notes(notes_file) if notes_file else ()

    codes: list[IsicCode] = [rating_row.code for rating_row in dependency_rows]
    isic_index = IsicIndex(codes)
    crosswalks = load_crosswalks(folder, activities, isic_index)

    sources = [services_file, pressures_file, dependency_file, pressure_file]
    sources += [source for source in (notes_file, overview_file) if source]
    files = {source.relative_path: source.sha256 for source in sources}
    files.update(crosswalks.files)
    name, version, name_source = _release_identity(folder, overview_file, release_name)

    unique_codes: dict[str, list[int]] = {}
    for position, activity in enumerate(activities):
        unique_codes.setdefault(activity.isic_unique_code, []).append(position)
    dependency_ratings.setflags(write=False)
    pressure_ratings.setflags(write=False)
    return KnowledgeBase(
        release=Release(
            name=name,
            version=version,
            name_source=name_source,
            attribution=attribution_text(version),
            files=dict(sorted(files.items())),
        ),
        activities=activities,
        ecosystem_services=services,
        pressures=pressures,
        dependency_ratings=dependency_ratings,
        pressure_ratings=pressure_ratings,
        crosswalks=crosswalks,
        explanatory_notes=notes,
        isic_index=isic_index,
        activity_index={
            activity.activity_id: position
            for position, activity in enumerate(activities)
        },
        unique_code_index={code: tuple(value) for code, value in unique_codes.items()},
    )


@functools.cache
def get_knowledge_base() -> KnowledgeBase:
    """Return the release named by ENCORE_KB_DIR, loaded once per process."""
    from nature_risk.config import KnowledgeBaseSettings

    settings = KnowledgeBaseSettings.from_env()
    return load_knowledge_base(settings.kb_dir, settings.release_name)
