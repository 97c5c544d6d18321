"""Low-level reading of ENCORE release files: discovery by name, CSV records, hashes.

ENCORE numbers its files (``06. Dependency mat ratings.csv``), but the numbers
differ between releases, so files are found by the name after the number.
Every problem raises ``KnowledgeBaseError`` naming the file, row and column.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from pathlib import Path
from typing import NamedTuple

ENCORE_FILES_DIR = "ENCORE files"
CROSSWALK_DIR = "Crosswalk tables"

_NUMBER_PREFIX = re.compile(r"^\d+\.\s*")


class KnowledgeBaseError(Exception):
    """An ENCORE release folder is missing a file or holds invalid content.

    ``file`` is relative to the release folder, ``row`` is the 1-based record
    number as a spreadsheet shows it, ``column`` is the header text. The message
    quotes only knowledge-base text, never user input.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = reason
        location = [part for part in (file,) if part]
        if row is not None:
            location.append(f"row {row}")
        if column is not None:
            location.append(f"column {column!r}")
        super().__init__(f"{', '.join(location)}: {reason}" if location else reason)

    def log_fields(self) -> dict[str, object]:
        """Describe the error for a log line: its class, code, file, row and column.

        The reason is left out. The keys are allowlisted in
        ``nature_risk.observability``, which drops a missing location.
        """
        return {
            "error_class": type(self).__name__,
            "error_code": "knowledge_base_invalid",
            "release_file": self.file,
            "release_row": self.row,
            "release_column": self.column,
        }


def clean_text(value: str) -> str:
    """Collapse every run of whitespace (NBSP and line breaks too) to one space."""
    return " ".join(value.split())


def header_key(value: str) -> str:
    """Reduce a header to lower-case letters and digits, for tolerant matching."""
    return re.sub(r"[^a-z0-9]", "", value.casefold())


class SourceFile(NamedTuple):
    """One file of the release: its path relative to the folder, bytes and hash."""

    relative_path: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def find_file(
    release_dir: Path, folders: tuple[str, ...], stem: str, suffix: str
) -> Path | None:
    """Find the file whose name, without its number, fully matches ``stem``.

    ``stem`` is a regular expression matched against the cleaned, lower-case
    name without the ``NN.`` prefix and without ``suffix``. Folders are tried in
    order and the first with a match wins. Two matches in one folder raise.
    """
    pattern = re.compile(stem)
    for folder in folders:
        directory = release_dir / folder
        if not directory.is_dir():
            continue
        matches = []
        for path in sorted(directory.iterdir()):
            if not path.is_file() or not path.name.casefold().endswith(suffix):
                continue
            name = clean_text(path.name[: -len(suffix)]).casefold()
            if pattern.fullmatch(_NUMBER_PREFIX.sub("", name)):
                matches.append(path)
        if len(matches) > 1:
            names = ", ".join(path.name for path in matches)
            raise KnowledgeBaseError(
                f"more than one file matches ({names}); keep one",
                file=folder,
            )
        if matches:
            return matches[0]
    return None


def read_source(release_dir: Path, path: Path) -> SourceFile:
    """Read a release file's bytes once, for both hashing and parsing."""
    relative = path.relative_to(release_dir).as_posix()
    try:
        return SourceFile(relative, path.read_bytes())
    except OSError as error:
        raise KnowledgeBaseError(
            f"cannot be read ({error.strerror})", file=relative
        ) from None


def decode_csv(source: SourceFile) -> list[list[str]]:
    """Parse a CSV file into records, keeping every cell as text.

    ENCORE CSVs are UTF-8 with a byte order mark, except one crosswalk that is
    Windows-1252 (raw 0xA0 bytes) without one. A file with the mark must be
    valid UTF-8, and an invalid byte raises naming its row and byte offset. A
    file without the mark that is not UTF-8 is read as Windows-1252. Quoted
    cells may hold line breaks, so a real CSV parser is used rather than a
    split on lines.
    """
    if source.data.startswith(codecs.BOM_UTF8):
        text = _decode_utf8_after_bom(source)
    else:
        text = _decode_without_bom(source)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise KnowledgeBaseError(
            f"is not valid CSV ({error})", file=source.relative_path
        ) from None


def _decode_utf8_after_bom(source: SourceFile) -> str:
    body = source.data[len(codecs.BOM_UTF8) :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = len(codecs.BOM_UTF8) + error.start
        raise KnowledgeBaseError(
            f"has an invalid UTF-8 byte at byte offset {offset} although it "
            "starts with a UTF-8 byte order mark. Save it again as UTF-8.",
            file=source.relative_path,
            row=_record_number_at(body[: error.start].decode("utf-8")),
        ) from None


def _record_number_at(text: str) -> int | None:
    """Return the 1-based number of the CSV record that ends ``text``.

    That is the record of the next character, the one that failed to decode.

    Records are counted by the CSV parser, so line breaks inside quoted cells
    do not start a record. Returns None when ``text`` is not valid CSV.
    """
    try:
        return sum(1 for _ in csv.reader(io.StringIO(text + "x", newline="")))
    except csv.Error:
        return None


def _decode_without_bom(source: SourceFile) -> str:
    try:
        return source.data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return source.data.decode("cp1252")
    except UnicodeDecodeError:
        raise KnowledgeBaseError(
            "is neither UTF-8 nor Windows-1252 text", file=source.relative_path
        ) from None


def is_blank(record: list[str]) -> bool:
    """Tell whether a CSV record has only empty or whitespace cells."""
    return not any(cell.strip() for cell in record)


def find_header(
    records: list[list[str]], source: SourceFile, first_cell: str, search_rows: int = 5
) -> int:
    """Return the index of the header record whose first cell starts ``first_cell``.

    Some files put a title record above the header, so the first few records
    are searched.
    """
    expected = header_key(first_cell)
    for index, record in enumerate(records[:search_rows]):
        if record and header_key(record[0]).startswith(expected):
            return index
    raise KnowledgeBaseError(
        f"header row not found in the first {search_rows} rows",
        file=source.relative_path,
        row=1,
        column=first_cell,
    )


def column_index(
    header: list[str],
    source: SourceFile,
    header_row: int,
    names: tuple[str, ...],
) -> int:
    """Return the position of the header matching one of ``names``.

    An exact match (ignoring case, spaces and punctuation) wins; otherwise a
    header that starts with the name, such as ``Level 1 (Used for ...)``.
    """
    keys = [header_key(cell) for cell in header]
    for name in names:
        key = header_key(name)
        if key in keys:
            return keys.index(key)
    for name in names:
        key = header_key(name)
        for position, candidate in enumerate(keys):
            if candidate.startswith(key):
                return position
    raise KnowledgeBaseError(
        "required column is missing",
        file=source.relative_path,
        row=header_row,
        column=names[0],
    )
