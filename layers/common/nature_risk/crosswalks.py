"""Crosswalk tables: NACE Rev.2 classes, EXIOBASE sectors and GICS sub-industries.

Each crosswalk row names an ISIC Rev.4 class (``D_35_351_3510``) and, in its
ISIC class column, the ENCORE activity name. Where one class code covers
several ENCORE rows (the nine ``D_35_351`` power rows), the name picks the row,
so EXIOBASE ``Production of electricity by wind`` maps to wind energy alone.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nature_risk.encore_files import (
    CROSSWALK_DIR,
    ENCORE_FILES_DIR,
    KnowledgeBaseError,
    SourceFile,
    clean_text,
    column_index,
    decode_csv,
    find_file,
    header_key,
    is_blank,
    read_source,
)
from nature_risk.isic import IsicCode, IsicIndex, parse_unique_code

if TYPE_CHECKING:
    from nature_risk.knowledge_base import Activity

# NACE codes in the crosswalks lost their zeros as numbers do (1.44, 69.2, 99).
_NACE_STORED = re.compile(r"([A-U])?(\d{1,2})(?:\.(\d{1,2}))?")
_GICS_CODE = re.compile(r"\d{8}")


def pad_nace_class(text: str) -> str | None:
    """Restore a NACE class code that was stored as a number: 1.44 -> 01.44."""
    match = _NACE_STORED.fullmatch(text.strip())
    if match is None:
        return None
    _, division, fraction = match.groups()
    return f"{division.zfill(2)}.{(fraction or '').ljust(2, '0')}"


def exiobase_key(name: str) -> str:
    """Normalise an EXIOBASE sector name for lookup (case and spacing)."""
    return clean_text(name).casefold()


@dataclass
class Crosswalks:
    """Code-to-activity maps from the crosswalk tables.

    ``nace`` maps a padded NACE class (``01.11``), ``nace_groups`` a NACE group
    (``01.1``) and ``exiobase`` a sector key (see ``exiobase_key``) to activity
    positions. A sector name also matches without its trailing EXIOBASE code
    in brackets when that shorter name is unique. ``isic_classes`` contains every
    ISIC Rev.4 class code the crosswalks name. The GICS map is read on first
    use because the xlsx reader is slow to import.
    """

    nace: dict[str, tuple[int, ...]] = field(default_factory=dict)
    nace_groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    exiobase: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    isic_classes: frozenset[str] = frozenset()
    files: dict[str, str] = field(default_factory=dict)
    nace_source: str | None = None
    gics_source: SourceFile | None = None
    _activities: tuple[Activity, ...] = ()
    _isic_index: IsicIndex | None = None
    _gics: dict[str, tuple[int, ...]] | None = None
    # The error of a failed read, raised again without reading the workbook.
    _gics_error: KnowledgeBaseError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __getstate__(self) -> dict[str, object]:
        # A lock cannot be pickled, so an unpickled copy gets a new one. An
        # error is no part of a snapshot.
        state = dict(self.__dict__)
        del state["_lock"]
        state.pop("_gics_error", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def has_gics(self) -> bool:
        return self.gics_source is not None

    def gics(self) -> dict[str, tuple[int, ...]]:
        """Return the GICS sub-industry map, reading the workbook on first call.

        Raises ``KnowledgeBaseError`` naming the file, row and column when the
        workbook is invalid, which ``nature_risk.api`` turns into a 503.

        NOTE: without a snapshot the workbook is validated here, on the first
        GICS code, not when the function starts (``make run`` calls this at
        start-up).
        """
        if self.gics_source is None:
            return {}
        with self._lock:
            if self._gics_error is not None:
                raise self._gics_error
            if self._gics is None:
                assert self._isic_index is not None
                try:
                    self._gics = _read_gics(
                        self.gics_source, self._activities, self._isic_index
                    )
                except KnowledgeBaseError as error:
                    self._gics_error = error
                    raise
            return self._gics


def _narrow(
    activities: tuple[Activity, ...], positions: tuple[int, ...], class_name: str
) -> tuple[int, ...]:
    """Keep the activity the crosswalk names when a code covers several rows."""
    if len(positions) < 2 or not class_name:
        return positions
    expected = class_name.casefold()
    named = tuple(p for p in positions if activities[p].name.casefold() == expected)
    return named or positions


def _read_nace_exiobase(
    source: SourceFile, activities: tuple[Activity, ...], index: IsicIndex
) -> tuple[dict, dict, frozenset[str]]:
    file = source.relative_path
    records = decode_csv(source)
    if not records:
        raise KnowledgeBaseError("is empty", file=file)
    header = records[0]
    keys = [header_key(cell) for cell in header]
    exiobase_at = column_index(header, source, 1, ("EXIOBASE",))
    isic_at = column_index(
        header, source, 1, ("ISIC Rev. 4 Unique Code", "ISIC Unique Class code")
    )
    class_at = column_index(header, source, 1, ("ISIC Rev 4. Class", "ISIC Class"))
    padded_at = keys.index("nacecodeandlevel") if "nacecodeandlevel" in keys else None
    nace_at = column_index(header, source, 1, ("NACE Rev 2. Code", "NACE Code"))

    nace: dict[str, set[int]] = {}
    exiobase: dict[str, tuple[str, set[int]]] = {}
    classes: set[str] = set()
    # Codes repeat across rows (1124 rows, 419 classes), so parse each once.
    parsed: dict[str, IsicCode | None] = {}
    narrowed: dict[tuple[str, str], tuple[int, ...]] = {}
    for offset, record in enumerate(records[1:]):
        row = offset + 2
        if is_blank(record):
            continue
        if len(record) != len(header):
            raise KnowledgeBaseError(
                f"has {len(record)} cells where the header has {len(header)}",
                file=file,
                row=row,
            )
        isic_text = record[isic_at].strip()
        code = parsed.get(isic_text)
        if code is None:
            code = parsed[isic_text] = parse_unique_code(clean_text(isic_text))
        if code is None or code.class_ is None:
            raise KnowledgeBaseError(
                "is not a four-part ISIC unique code like A_1_11_111",
                file=file,
                row=row,
                column=clean_text(header[isic_at]),
            )
        if padded_at is not None:
            nace_code = pad_nace_class(clean_text(record[padded_at]))
            nace_column = header[padded_at]
        else:
            nace_code = pad_nace_class(clean_text(record[nace_at]))
            nace_column = header[nace_at]
        if nace_code is None:
            raise KnowledgeBaseError(
                "is not a NACE class code like 01.11",
                file=file,
                row=row,
                column=clean_text(nace_column),
            )
        sector = clean_text(record[exiobase_at])
        if not sector:
            raise KnowledgeBaseError(
                "is empty", file=file, row=row, column=clean_text(header[exiobase_at])
            )
        classes.add(code.class_)
        key = (isic_text, record[class_at])
        positions = narrowed.get(key)
        if positions is None:
            positions = narrowed[key] = _narrow(
                activities, index.activities(code), clean_text(record[class_at])
            )
        nace.setdefault(nace_code, set()).update(positions)
        entry = exiobase.setdefault(exiobase_key(sector), (sector, set()))
        entry[1].update(positions)
    return (
        {key: tuple(sorted(value)) for key, value in nace.items()},
        {key: (name, tuple(sorted(value))) for key, (name, value) in exiobase.items()},
        frozenset(classes),
    )


def _read_gics(
    source: SourceFile, activities: tuple[Activity, ...], index: IsicIndex
) -> dict[str, tuple[int, ...]]:
    """Read the GICS workbook's first sheet into sub-industry -> activities."""
    # Imported here because importing openpyxl is slow and few requests need it.
    import openpyxl

    file = source.relative_path
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(source.data), read_only=True, data_only=True
        )
    except Exception as error:  # noqa: BLE001 - openpyxl raises many types
        raise KnowledgeBaseError(
            f"is not a readable xlsx workbook ({type(error).__name__})", file=file
        ) from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = ["" if cell is None else str(cell) for cell in next(rows, ())]
        code_at = column_index(header, source, 1, ("GICS Sub-Industry Code",))
        isic_at = column_index(header, source, 1, ("ISIC Unique code",))
        class_at = column_index(header, source, 1, ("ISIC Class",))
        gics: dict[str, set[int]] = {}
        for offset, values in enumerate(rows):
            row = offset + 2
            cells = ["" if cell is None else str(cell) for cell in values]
            if is_blank(cells):
                continue
            cells += [""] * (len(header) - len(cells))
            gics_code = cells[code_at].strip().removesuffix(".0")
            if not _GICS_CODE.fullmatch(gics_code):
                raise KnowledgeBaseError(
                    "is not an 8-digit GICS sub-industry code",
                    file=file,
                    row=row,
                    column=clean_text(header[code_at]),
                )
            code = parse_unique_code(clean_text(cells[isic_at]))
            if code is None:
                raise KnowledgeBaseError(
                    "is not an ISIC unique code like A_1_11_111",
                    file=file,
                    row=row,
                    column=clean_text(header[isic_at]),
                )
            positions = _narrow(
                activities, index.activities(code), clean_text(cells[class_at])
            )
            gics.setdefault(gics_code, set()).update(positions)
    finally:
        workbook.close()
    return {key: tuple(sorted(value)) for key, value in gics.items()}


def _nace_groups(nace: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    groups: dict[str, set[int]] = {}
    for code, positions in nace.items():
        groups.setdefault(code[:4], set()).update(positions)
    return {code: tuple(sorted(value)) for code, value in groups.items()}


def _exiobase_aliases(
    exiobase: dict[str, tuple[str, tuple[int, ...]]],
) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Map ``other business activities`` to ``other business activities (74)``."""
    shortened: dict[str, list[str]] = {}
    for key in exiobase:
        short = re.sub(r"\s*\([^()]*\)$", "", key)
        if short != key and short not in exiobase:
            shortened.setdefault(short, []).append(key)
    return {
        short: exiobase[keys[0]] for short, keys in shortened.items() if len(keys) == 1
    }


def load_crosswalks(
    folder: Path, activities: tuple[Activity, ...], index: IsicIndex
) -> Crosswalks:
    """Read the EXIOBASE-NACE-ISIC crosswalk now and locate the GICS workbook.

    The crosswalk in ``Crosswalk tables/`` is preferred over the copy some
    releases also keep in ``ENCORE files/``.
    """
    crosswalks = Crosswalks(_activities=activities, _isic_index=index)
    nace_path = find_file(
        folder, (CROSSWALK_DIR, ENCORE_FILES_DIR), r"exiobase\b.*\bnace\b.*", ".csv"
    )
    if nace_path is not None:
        source = read_source(folder, nace_path)
        crosswalks.nace, crosswalks.exiobase, crosswalks.isic_classes = (
            _read_nace_exiobase(source, activities, index)
        )
        crosswalks.nace_groups = _nace_groups(crosswalks.nace)
        crosswalks.exiobase.update(_exiobase_aliases(crosswalks.exiobase))
        crosswalks.nace_source = source.relative_path
        crosswalks.files[source.relative_path] = source.sha256
    gics_path = find_file(
        folder, (CROSSWALK_DIR, ENCORE_FILES_DIR), r"gics\b.*\bisic\b.*", ".xlsx"
    )
    if gics_path is not None:
        source = read_source(folder, gics_path)
        crosswalks.gics_source = source
        crosswalks.files[source.relative_path] = source.sha256
    return crosswalks
