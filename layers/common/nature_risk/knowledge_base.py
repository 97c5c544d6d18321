"""The ENCORE knowledge base: activities, services, pressures and rating matrices.

``load_knowledge_base`` reads one release folder (``ENCORE files/`` and
``Crosswalk tables/``), validates it and returns an immutable
``KnowledgeBase``. ``get_knowledge_base`` caches the release named by
``ENCORE_KB_DIR``. Any invalid content raises ``KnowledgeBaseError`` naming the
file, row and column. The functions call ``load_at_cold_start`` when imported,
so a broken release fails their start-up.

Ratings are stored as ``numpy.int8`` positions in ``RATINGS``, highest first,
so the highest of several ratings is the minimum position.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from nature_risk.crosswalks import Crosswalks, load_crosswalks
from nature_risk.encore_definitions import (
    label_key,
    read_explanatory_notes,
    read_pressure_definitions,
    read_service_definitions,
)
from nature_risk.encore_files import (
    ENCORE_FILES_DIR,
    KnowledgeBaseError,
    SourceFile,
    clean_text,
    find_file,
    read_source,
)
from nature_risk.isic import IsicCode, IsicIndex
from nature_risk.knowledge_base_types import (
    RATING_INDEX,
    RATINGS,
    SCORES,
    Activity,
    EcosystemService,
    ExplanatoryNote,
    Pressure,
    SubService,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

__all__ = [
    "RATING_INDEX",
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
    "load_at_cold_start",
    "load_knowledge_base",
]

LICENCE = "CC BY-SA 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"

# Only reading a release folder needs these, so re's functions compile them on
# first use, and a cold start that reads the snapshot never does.
_MONTH_YEAR_PATTERN = (
    r"\b(January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\s+(\d{4})\b"
)
_OVERVIEW_VERSION_PATTERN = r"Version:\s*([A-Za-z]+\s+\d{4})"
_logger = logging.getLogger(__name__)


class Release(NamedTuple):
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
    match = re.search(_OVERVIEW_VERSION_PATTERN, strings)
    return clean_text(match.group(1)) if match else None


def _release_identity(
    folder: Path, overview: SourceFile | None, configured: str | None
) -> tuple[str, str | None, str]:
    """Return (name, version, name_source) for the release."""
    if configured:
        match = re.search(_MONTH_YEAR_PATTERN, configured, re.IGNORECASE)
        return configured, match.group(0) if match else configured, "configured"
    if overview is not None:
        version = _overview_version(overview)
        if version:
            return f"ENCORE knowledge base, version {version}", version, "overview"
    match = re.search(_MONTH_YEAR_PATTERN, folder.name, re.IGNORECASE)
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
    # Imported here because a cold start that reads the layer's snapshot does
    # not need the rating file parser.
    from nature_risk.encore_ratings import (
        align_pressure_rows,
        build_activities,
        read_rating_file,
    )

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

    service_names, dependency_rows = read_rating_file(dependency_file)
    activities = build_activities(dependency_file, dependency_rows)
    dependency_ratings = np.array(
        [rating_row.ratings for rating_row in dependency_rows], dtype=np.int8
    )
    pressure_names, pressure_rows = read_rating_file(pressure_file)
    pressure_ratings = align_pressure_rows(pressure_file, activities, pressure_rows)
    services = read_service_definitions(services_file, service_names)
    pressures = read_pressure_definitions(pressures_file, pressure_names)
    notes = read_explanatory_notes(notes_file) if notes_file else ()

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
    """Return the release named by ENCORE_KB_DIR, loaded once per process.

    A snapshot named by ENCORE_KB_SNAPSHOT is used when it matches the release
    folder. Otherwise the folder's files are read and validated.
    """
    from nature_risk.config import KnowledgeBaseSettings

    settings = KnowledgeBaseSettings.from_env()
    if settings.snapshot is not None:
        from nature_risk.knowledge_base_snapshot import SnapshotMismatch, read_snapshot

        try:
            return read_snapshot(
                settings.snapshot, settings.kb_dir, settings.release_name
            )
        except SnapshotMismatch as mismatch:
            _logger.warning(
                "Knowledge base snapshot not used, so the release folder is read",
                extra={"error_code": mismatch.code},
            )
    return load_knowledge_base(settings.kb_dir, settings.release_name)


def load_at_cold_start(logger: Logger) -> KnowledgeBase:
    """Load the release for a function's cold start with ``get_knowledge_base``.

    An invalid release is logged with the file, row and column at fault, and
    an invalid setting with the variable's name. The error is then raised
    again, so the import of the function fails and Lambda reports an init
    error rather than failing every request.
    """
    from nature_risk.config import ConfigurationError

    try:
        return get_knowledge_base()
    except KnowledgeBaseError as error:
        logger.error("Knowledge base invalid", extra=error.log_fields())
        raise
    except ConfigurationError as error:
        logger.error("Knowledge base settings invalid", extra=error.log_fields())
        raise
