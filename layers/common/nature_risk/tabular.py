"""Read an uploaded table (CSV, JSON or a multipart file upload) into string cells.

Every portfolio route reads its body through ``read_table``, so a CSV file, a
browser upload and a JSON form all become the same ``Table``. A table is one
pandas frame of string cells with normalised column names, plus the row number
of every row.

CSV bytes are read the way spreadsheets write them: UTF-8 with or without a
byte order mark, UTF-16 with a byte order mark (Excel's "Unicode text"),
Windows-1252 when the bytes are not UTF-8, comma, semicolon, tab or pipe
separators, CRLF, LF or bare CR line ends, quoted cells with line breaks,
blank rows and trailing empty columns. Row numbers are spreadsheet row numbers:
the first record of the file is row 1, and a quoted cell with line breaks still
counts as one row. For JSON, the row number of a record is its index in the
list (from 0), and problems name the field as ``holdings[3].amount``.

Error messages name rows, fields and limits, never a cell or a header, because
messages reach logs.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import io
import itertools
import json
import re
import sys
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nature_risk.amounts import MAX_AMOUNT_BYTES, parse_amount_bytes
from nature_risk.config import InputLimits
from nature_risk.errors import (
    InputError,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
)
from nature_risk.json_input import load_json
from nature_risk.media_types import CSV_MEDIA_TYPES
from nature_risk.text_encoding import (
    JsonPath,
    is_utf8_encodable,
    may_contain_surrogate,
    unencodable_path,
)

if TYPE_CHECKING:
    from email.message import Message

JSON_MEDIA_TYPES = frozenset({"application/json"})
MULTIPART_MEDIA_TYPE = "multipart/form-data"
# Text fields of a form upload that a route reads, which problems may name.
FORM_FIELDS = ("currency", "options", "name", "module")
ACCEPTED_MEDIA_TYPES_TEXT = "text/csv, application/json or multipart/form-data"

DELIMITERS = (",", ";", "\t", "|")
# The delimiter is chosen from this much text at the start of the file.
SNIFF_CHARS = 64 * 1024
# The csv module's cells may be as long as pandas' cells. Its default limit of
# 131,072 characters rejected a long quoted cell only on the csv module's
# paths, and it reported an unclosed quote before a long file as a long cell.
# MAX_BODY_BYTES bounds the memory a cell takes. The limit is process-wide, and
# with it every csv.Error is a quoting error.
_CSV_FIELD_SIZE_LIMIT = sys.maxsize
csv.field_size_limit(_CSV_FIELD_SIZE_LIMIT)
# A text with more than one NUL in this many characters is not CSV text (a
# UTF-16 file read as UTF-8 has one in two). Fewer NULs are located by cell.
NUL_SHARE_OF_BINARY = 8
SNIFF_RECORDS = 50

# charset parameter values and the codec each names.
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "us-ascii": "utf-8",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "iso-8859-1": "latin-1",
    "latin-1": "latin-1",
    "latin1": "latin-1",
}

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Zip (xlsx, ods) and OLE2 (xls) containers: a workbook, not a CSV file.
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Excel's separator line. Only ASCII punctuation other than the quote, a
# space or a tab can be a separator that pandas' C engine accepts.
_SEP_LINE = re.compile(
    r"sep=([\t !#-/:-@\[-`{-~])[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE
)
# A separator line with any other single character, or none, which is rejected.
_UNUSABLE_SEP_LINE = re.compile(r"sep=[^\r\n]?[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)
_BOUNDARY = re.compile(r"""boundary\s*=\s*(?:"([^"]{1,200})"|([^;\s"]{1,200}))""", re.I)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_PLAIN_NUMBER = {
    # No two quantifiers share characters, so a failed match is linear in time.
    ".": re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*", re.ASCII),
    ",": re.compile(r"\s*[-+]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][-+]?\d+)?\s*", re.ASCII),
}
# Amounts as spreadsheets save them (1.234.567,89), read as bytes first.
_DIGITS_AND_SEPARATORS = re.compile(r"[0-9.,]+")
# The maximum number of cells (rows times the header's columns) of a table. It
# keeps a table of blank or short lines, which pandas pads to the header's
# width, within about 250 MB. Full rows of one byte per cell reach it only in
# a body far over the body limit.
MAX_TABLE_CELLS = 16_000_000
# Byte cells this wide fit every amount of up to MAX_AMOUNT_BYTES bytes. A
# cell that fills the width may have been cut, so the file is read again.
_AMOUNT_CELL_DTYPE = f"S{MAX_AMOUNT_BYTES + 1}"


@dataclass(slots=True)
class Table:
    """An uploaded table: string cells, normalised column names and row numbers.

    ``frame`` has one column per entry of ``columns``, all of dtype str except
    the columns ``read_table`` was asked to read as numbers when every cell of
    them was a plain number, or for amount columns a valid amount written with
    digits, "." and "," (float64, NaN for blank cells). Blank rows are
    dropped, so ``frame`` row ``i`` is input row ``rows[i]``.
    """

    columns: list[str]
    frame: pd.DataFrame
    rows: np.ndarray
    form_fields: dict[str, object] = field(default_factory=dict)
    source: str = "csv"
    # Name of the JSON list the records came from, used in problem field names.
    records_field: str | None = None
    # Decimal separator the file most likely uses: "," for semicolon-separated
    # files (the habit of locales that write decimal commas), else ".".
    decimal: str = "."
    # Problems of whole rows found while reading the file, such as cells past
    # the header's last column. Parsers report them with their own problems.
    read_problems: list[Problem] = field(default_factory=list)
    # The header cell or JSON key of each column as written, such as
    # "Amount (€)" for the column "amount".
    headers: dict[str, str] = field(default_factory=dict)

    def problem(self, row: int, column: str, reason: str) -> Problem:
        """Build a problem located the way this table's source counts rows."""
        if self.source == "json":
            prefix = self.records_field or "records"
            return Problem(reason=reason, field=f"{prefix}[{row}].{column}")
        return Problem(reason=reason, row=int(row), field=column)

    def with_read_problems(self, problems: Sequence[Problem]) -> list[Problem]:
        """Add ``read_problems`` to a parser's problems.

        A parser's other problems on those rows are dropped, because a cell
        past the header usually means a separator shifted the row's cells.
        """
        rows = {problem.row for problem in self.read_problems}
        others = [problem for problem in problems if problem.row not in rows]
        return self.read_problems + others

    def relocate(self, problems: Sequence[Problem]) -> list[Problem]:
        """Rewrite problems built with spreadsheet rows into this table's form."""
        if self.source != "json":
            return list(problems)
        return [
            self.problem(p.row, p.field or "", p.reason) if p.row is not None else p
            for p in problems
        ]


@functools.lru_cache(maxsize=4096)
def normalise_header(name: str) -> str:
    """Normalise a header cell: `` ISIC Code (Rev.4) `` becomes ``isic_code_rev_4``."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NON_WORD.sub("_", folded.casefold()).strip("_")


def find_column(table: Table, aliases: Sequence[str]) -> str | None:
    """Return the first column matching an alias, in alias order, or None.

    An alias matches a column of the same normalised name, or failing that a
    column whose name starts with the alias and an underscore (``amount_eur``
    for ``amount``).
    """
    return _match_column(table.columns, aliases)


def _match_column(columns: Sequence[str], aliases: Sequence[str]) -> str | None:
    wanted = [normalise_header(alias) for alias in aliases]
    present = set(columns)
    for alias in wanted:
        if alias in present:
            return alias
    for alias in wanted:
        for column in columns:
            if column.startswith(alias + "_"):
                return column
    return None


def read_table(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    *,
    records_field: str | None = None,
    numeric: Sequence[Sequence[str]] = (),
    amount_columns: Sequence[Sequence[str]] = (),
    fields: Sequence[Sequence[str]] = (),
    declared: Mapping[str, object] | None = None,
) -> Table:
    """Read a request body into a ``Table``.

    ``records_field`` names the list of records in a JSON object body; without
    it the body's only list-valued field is taken. ``numeric`` lists alias
    groups of columns to read as float64 when every cell is a plain number,
    which saves a second pass over large files. ``amount_columns`` lists the
    groups among ``numeric`` that contain money amounts. A CSV amount column
    written with digits and separators alone (``1.234.567,89``) is read as
    float64 too when ``parse_amount_bytes`` accepts every cell, which gives
    the floats that ``parse_amounts`` gives for the text. ``fields`` lists
    the alias groups the caller reads: problems name only these JSON keys,
    and other keys by their position. ``declared`` gives a raw CSV body the
    form fields (such as ``currency``) that a multipart upload or a JSON body
    carries itself; other bodies ignore it. Raises ``PayloadTooLarge``
    (body, rows or columns over ``limits``), ``UnsupportedMediaType`` and
    ``InputError``.
    """
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(
            f"The request body is larger than the limit of "
            f"{limits.max_body_bytes} bytes."
        )
    media_type = (content_type or "").split(";", 1)[0].strip().lower()

    if media_type in JSON_MEDIA_TYPES:
        try:
            utf8 = _charset(content_type) in (None, "utf-8")
        except UnsupportedMediaType:
            # An unknown charset gets the JSON advice, not the CSV one.
            utf8 = False
        if not utf8:
            raise UnsupportedMediaType("A JSON body must be UTF-8 (charset=utf-8).")
        known = [alias for aliases in (*fields, *numeric) for alias in aliases]
        amounts = [alias for aliases in amount_columns for alias in aliases]
        return _read_json(body, limits, records_field, known, amounts)
    if media_type == MULTIPART_MEDIA_TYPE:
        data, file_type, form_fields = _read_multipart(body, content_type)
        file_media_type = file_type.split(";", 1)[0].strip().lower()
        if file_media_type and file_media_type not in CSV_MEDIA_TYPES:
            raise UnsupportedMediaType(
                "The uploaded file must be CSV (text/csv): send JSON as the request"
                " body with Content-Type application/json."
            )
        table = _read_csv(
            data, limits, numeric, amount_columns, _charset(file_type), fields
        )
        table.form_fields = form_fields
        table.source = "multipart"
        return table
    if media_type in CSV_MEDIA_TYPES:
        table = _read_csv(
            body, limits, numeric, amount_columns, _charset(content_type), fields
        )
        # A raw CSV body has no form fields; a caller that took them from
        # elsewhere (a saved portfolio's query string) passes them here.
        table.form_fields = dict(declared or {})
        return table
    raise UnsupportedMediaType(f"Content-Type must be {ACCEPTED_MEDIA_TYPES_TEXT}.")


# CSV -----------------------------------------------------------------------


def _charset(content_type: str) -> str | None:
    """Return the Python codec a Content-Type's charset names, or None without one.

    Raises ``UnsupportedMediaType`` for a charset outside ``CHARSETS``.
    """
    # The email package parses MIME parameters. It is imported here, not at the
    # top, so that routes without a request body never load it (about 5 ms).
    from email.message import Message

    message = Message()
    message["content-type"] = content_type or "text/plain"
    charsets = [
        value for name, value in message.get_params([]) if name.lower() == "charset"
    ]
    if len(charsets) > 1:
        raise UnsupportedMediaType(
            "The Content-Type has more than one charset parameter: send one."
        )
    charset = message.get_content_charset()
    if charset is None:
        return None
    codec = CHARSETS.get(charset.strip().lower())
    if codec is None:
        raise UnsupportedMediaType(
            "The charset parameter names an unsupported encoding: send utf-8,"
            " utf-16, windows-1252 or iso-8859-1."
        )
    return codec


def _decode_declared(data: bytes, codec: str) -> tuple[str, bytes]:
    """Decode CSV bytes in the encoding the charset parameter states."""
    if codec == "utf-16" and not data.startswith(_UTF16_BOMS):
        # Without a byte order mark, ASCII text shows its order by where the
        # zero bytes fall. RFC 2781 makes big-endian the default.
        codec = (
            "utf-16-le"
            if data[1:64:2].count(0) > data[0:64:2].count(0)
            else ("utf-16-be")
        )
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        raise InputError(
            "The file is not valid text in the encoding its charset parameter states."
        ) from None
    text = text.removeprefix("\ufeff")
    return text, text.encode("utf-8")


def _decode(data: bytes, codec: str | None = None) -> tuple[str, bytes]:
    """Decode CSV bytes: the charset, else a BOM, else UTF-8, else Windows-1252.

    Returns the text and the same text as UTF-8 bytes without a BOM.
    """
    # A byte order mark overrides the charset parameter, as the WHATWG
    # Encoding Standard's decode algorithm has it: a file saved as UTF-16 is
    # UTF-16 whatever the client labelled it.
    if codec is not None and not data.startswith((_UTF8_BOM, *_UTF16_BOMS)):
        return _decode_declared(data, codec)
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(
                "The file starts with a UTF-16 mark but is not UTF-16 text."
            ) from None
        return text, text.encode("utf-8")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        return text, text.encode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            "The file is neither UTF-8 nor Windows-1252 text: save it as CSV UTF-8."
        ) from None


def _is_blank(record: Sequence[str]) -> bool:
    return all(not cell.strip() for cell in record)


def _is_blank_line(record: Sequence[str]) -> bool:
    """Tell whether a record is blank under any candidate delimiter (``,,`` too)."""
    return not "".join(record).strip("".join(DELIMITERS) + " ")


def _sample_records(sample: str, delimiter: str, complete: bool) -> list[list[str]]:
    try:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        records = list(itertools.islice(reader, SNIFF_RECORDS + 1))
    except (csv.Error, ValueError):  # ValueError: a delimiter csv cannot use
        return []
    if not complete and records:
        records.pop()  # may be cut in the middle
    return records


def _strip_sep_line(text: str, utf8: bytes) -> tuple[str | None, str, bytes]:
    """Remove a first line ``sep=;`` and return the separator it names, or None.

    Excel reads such a line as a setting and does not show it, so the rows
    after it keep the numbers a spreadsheet gives them. ``utf8`` is ``text``
    as UTF-8 and loses the same line.
    """
    match = _SEP_LINE.match(text)
    if match is None:
        if _UNUSABLE_SEP_LINE.match(text):
            raise InputError(
                "The sep= line does not name a usable separator: use a comma,"
                " semicolon, tab or pipe.",
                [Problem(reason="unsupported separator in the sep= line")],
            )
        return None, text, utf8
    # The line is ASCII, so its bytes are as many as its characters.
    return match.group(1), text[match.end() :], utf8[match.end() :]


def _sniff(
    text: str, forced: str | None = None
) -> tuple[str, int, list[str], list[list[str]]]:
    """Choose the delimiter, which is ``forced`` when a ``sep=`` line named one.

    Returns it, the number of records before the header, the header and the
    sample records after it. The candidate that splits the header into the most
    columns wins, weighted by how many sample rows have that many fields.
    """
    sample = text[:SNIFF_CHARS]
    complete = len(text) <= SNIFF_CHARS
    candidates = (forced,) if forced else DELIMITERS

    best: tuple[float, int] | None = None
    chosen = candidates[0]
    chosen_records: list[list[str]] = []
    for delimiter in candidates:
        records = _sample_records(sample, delimiter, complete)
        body = [record for record in records if not _is_blank_line(record)]
        if not body:
            continue
        width = len(body[0])
        if width < 2 and best is not None:
            continue
        consistent = sum(len(record) == width for record in body) / len(body)
        score = (consistent if width > 1 else 0.0, width)
        if best is None or score > best:
            best, chosen, chosen_records = score, delimiter, records
    if not chosen_records or all(_is_blank_line(record) for record in chosen_records):
        if not complete:
            # No record ends within the sample, so the header is longer.
            raise InputError(
                f"The header row is longer than the limit of {SNIFF_CHARS}"
                " characters: shorten the column names.",
                [Problem(reason="header row too long", row=1)],
            )
        raise InputError(
            "The file has no header row.", [Problem(reason="missing header", row=1)]
        )

    blank_before = 0
    for record in chosen_records:
        if not _is_blank_line(record):
            break
        blank_before += 1
    return (
        chosen,
        blank_before,
        chosen_records[blank_before],
        chosen_records[blank_before + 1 :],
    )


def _reject_repeated_headers(header: Sequence[str]) -> None:
    """Reject headers that name the same column twice, whose second copy is unread.

    Headers are compared once normalised (``Amount`` and ``amount`` are the
    same column). Problems name the columns by position (1 is the first).
    """
    first_position: dict[str, int] = {}
    problems: list[Problem] = []
    for position, cell in enumerate(header, start=1):
        name = normalise_header(cell)
        if not name:
            continue
        if name in first_position:
            problems.append(
                Problem(
                    reason=f"duplicate column: column {position} has the same header"
                    f" as column {first_position[name]}",
                    row=1,
                )
            )
        else:
            first_position[name] = position
    if problems:
        raise InputError(
            "The header row names a column twice: rename or remove the copy.",
            problems,
        )


def _unique_names(raw: Sequence[str]) -> list[str]:
    """Normalise header cells; name blank ones by position; number repeats."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(raw, start=1):
        name = normalise_header(cell) or f"column_{position}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        names.append(name if count == 1 else f"{name}_{count}")
    return names


def _numeric_positions(
    names: Sequence[str], numeric: Sequence[Sequence[str]]
) -> list[int]:
    positions = []
    for aliases in numeric:
        column = _match_column(names, aliases)
        if column is not None:
            positions.append(names.index(column))
    return positions


def _plain_numbers(sample: list[list[str]], position: int, decimal: str) -> bool:
    """Tell whether a column's sample cells are numbers pandas reads as float.

    A column of written amounts (``1.234,56 €``) fails pandas' float read only
    after a full pass, so the sample decides whether to try it.
    """
    plain = _PLAIN_NUMBER[decimal]
    cells = [record[position] for record in sample if len(record) > position]
    return all(plain.fullmatch(cell) for cell in cells if cell.strip())


def _separated_digits(sample: list[list[str]], position: int) -> bool:
    """Tell whether a column's sample cells are digits with "." and "," alone."""
    cells = [record[position] for record in sample if len(record) > position]
    cells = [cell for cell in cells if cell]
    return bool(cells) and all(_DIGITS_AND_SEPARATORS.fullmatch(cell) for cell in cells)


def _read_csv_fast(
    utf8: bytes,
    delimiter: str,
    skip: int,
    decimal: str,
    float_positions: list[int],
    byte_positions: Sequence[int] = (),
) -> pd.DataFrame:
    """Read the CSV in one pandas C-engine pass, raising ParserError on ragged rows.

    Columns at ``byte_positions`` are read as fixed-width bytes (numpy ``S``),
    which costs no Python string per cell.
    """
    dtype = defaultdict(lambda: str, dict.fromkeys(float_positions, "float64"))
    dtype.update(dict.fromkeys(byte_positions, _AMOUNT_CELL_DTYPE))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(
            io.BytesIO(utf8),
            sep=delimiter,
            header=0,
            index_col=False,
            skiprows=skip,
            dtype=dtype,
            keep_default_na=False,
            na_values=dict.fromkeys(float_positions, [""]),
            skip_blank_lines=False,
            decimal=decimal,
            quotechar='"',
            encoding="utf-8",
            engine="c",
        )
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        # pandas truncates a first data row longer than the header and warns.
        raise pd.errors.ParserError("row longer than the header")
    return frame


def _read_csv_ragged(
    text: str, delimiter: str, skip: int, width: int, limits: InputLimits
) -> tuple[pd.DataFrame, np.ndarray, list[Problem]]:
    """Read a file record by record, listing rows with extra cells.

    Returns the cells, padded to ``width``, their row numbers and the row
    problems. Blank records are skipped, so they take no memory. Extra cells
    that are empty (a spreadsheet's trailing separators) are dropped. A row
    with a filled cell past the header's last column is a problem, because
    that cell would otherwise be lost. These problems are returned, so that
    the caller reports them with the other bad rows. Invalid quoting stops the
    read and raises ``InputError`` at once, and more than ``limits.max_rows``
    rows or ``MAX_TABLE_CELLS`` cells raise ``PayloadTooLarge``.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    max_records = min(limits.max_rows, MAX_TABLE_CELLS // max(width, 1))
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    index = skip
    try:
        for index, record in enumerate(reader):
            if index <= skip or not any(cell.strip() for cell in record):
                # Blank rows and rows of spaces are skipped, and take no memory.
                continue
            if len(records) == max_records:
                raise _too_many_records(limits, width)
            if len(record) > width and not _is_blank(record[width:]):
                problems.append(
                    Problem(
                        reason="more cells than the header row: quote cells that "
                        "contain the separator",
                        row=index + 1,
                    )
                )
            records.append((record + [""] * width)[:width])
            rows.append(index + 1)
    except csv.Error:
        # The record after the last one read is the one that failed.
        problems.append(Problem(reason=REASON_QUOTING, row=index + 2))
        cap = limits.max_row_errors
        raise InputError(
            "Some rows of the file could not be read: see the problems list.",
            problems[:cap],
            truncated=len(problems) > cap,
        ) from None
    frame = pd.DataFrame(records, columns=range(width), dtype=str)
    return frame, np.asarray(rows, dtype=np.int64), problems


def _too_many_records(limits: InputLimits, width: int) -> PayloadTooLarge:
    if limits.max_rows * width <= MAX_TABLE_CELLS:
        return PayloadTooLarge(
            f"The file has more than the limit of {limits.max_rows} rows."
        )
    return PayloadTooLarge(
        f"The file has more than the limit of {MAX_TABLE_CELLS} cells (rows"
        " times the header's columns)."
    )


def _may_exceed_cells(utf8: bytes, width: int) -> bool:
    """Tell whether the text's lines times ``width`` may pass ``MAX_TABLE_CELLS``.

    A record takes at least one line, and a line at least one byte, so most
    bodies need no count. The count takes CRLF as two breaks, which only
    overstates the lines.
    """
    if (len(utf8) + 1) * width <= MAX_TABLE_CELLS:
        return False
    breaks = utf8.count(b"\n") + utf8.count(b"\r")
    return (breaks + 1) * width > MAX_TABLE_CELLS


REASON_QUOTING = "invalid CSV quoting (an unclosed or stray quote)"


def _first_record_width(
    text: str, delimiter: str, skip: int, sample: list[list[str]]
) -> int:
    """Count the cells of the first record after the header, or 0 without one.

    ``sample`` are the complete records after the header at the start of the
    text (see ``_sniff``). Without one, only the records up to the first data
    record are read.
    """
    if sample or len(text) <= SNIFF_CHARS:
        return len(sample[0]) if sample else 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        record = next(itertools.islice(reader, skip + 1, None), [])
    except csv.Error:
        return 0  # the full read reports it with its row
    return len(record)


def _check_quotes(text: str, delimiter: str) -> None:
    """Report a quote that is never closed, at the row where it opens.

    pandas reads an unclosed quote to the end of the file as one cell, which
    hides every later row. Only a file with an odd number of quote characters
    can have one, so other files skip this pass.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = 0
    try:
        for _record in reader:
            records += 1
    except csv.Error:
        raise InputError(
            "A row of the file could not be read: see the problems list.",
            [Problem(reason=REASON_QUOTING, row=records + 1)],
        ) from None


def _nul_problems(
    text: str,
    delimiter: str,
    skip: int,
    header: Sequence[str],
    known: Sequence[Sequence[str]],
    limit: int,
) -> list[Problem]:
    """Locate the cells that contain a NUL character, at most ``limit`` of them.

    Rows are counted as ``_check_quotes`` counts them. A cell below the header
    is named by its column when the column is one of the ``known`` alias
    groups, because other header text is the user's and is never quoted.
    """
    names = _unique_names(header)
    named = {_match_column(names, aliases) for aliases in known} - {None}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    try:
        for row, record in enumerate(reader, start=1):
            for position, cell in enumerate(record):
                if "\x00" not in cell:
                    continue
                column = names[position] if position < len(names) else None
                below_header = row > skip + 1
                problems.append(
                    Problem(
                        reason="contains a NUL character",
                        row=row,
                        field=column if below_header and column in named else None,
                    )
                )
                if len(problems) >= limit:
                    return problems
    except csv.Error:
        # A quoting error after the NULs found so far; the file is rejected
        # for them, and the next upload reports the quoting.
        pass
    return problems or [Problem(reason="contains a NUL character")]


def _read_csv(
    data: bytes,
    limits: InputLimits,
    numeric: Sequence[Sequence[str]],
    amount_columns: Sequence[Sequence[str]] = (),
    codec: str | None = None,
    fields: Sequence[Sequence[str]] = (),
) -> Table:
    if data.startswith(_WORKBOOK_MAGIC):
        raise UnsupportedMediaType(
            "Spreadsheet workbooks are not accepted: save the sheet as CSV."
        )
    text, utf8 = _decode(data, codec)
    # "in" stops at memchr speed; counting runs only when there is a NUL.
    nul_count = text.count("\x00") if "\x00" in text else 0
    if nul_count * NUL_SHARE_OF_BINARY > len(text):
        raise InputError(
            "The file contains NUL characters, so it is not a CSV text file. "
            "Save it as CSV UTF-8, not as UTF-16 or a binary format."
        )
    forced, text, utf8 = _strip_sep_line(text, utf8)
    delimiter, skip, header, sample = _sniff(text, forced)
    if nul_count:
        cap = limits.max_row_errors
        # Finding one more than the cap shows whether the list is complete.
        problems = _nul_problems(
            text, delimiter, skip, header, [*fields, *numeric], cap + 1
        )
        listed = f" The first {cap} are listed (MAX_ROW_ERRORS)."
        raise InputError(
            "Cells of the file contain NUL characters: see the problems list."
            + (listed if len(problems) > cap else ""),
            problems[:cap],
            truncated=len(problems) > cap,
        )
    if '"' in text and text.count('"') % 2:
        _check_quotes(text, delimiter)
    if len(header) > limits.max_columns:
        raise PayloadTooLarge(
            f"The header row has more than the limit of {limits.max_columns} columns."
        )
    _reject_repeated_headers(header)
    names = _unique_names(header)
    decimal = "," if delimiter == ";" else "."

    float_positions = [
        position
        for position in _numeric_positions(names, numeric)
        if _plain_numbers(sample, position, decimal)
    ]
    byte_positions = [
        position
        for position in _numeric_positions(names, amount_columns)
        if position not in float_positions and _separated_digits(sample, position)
    ]
    if _first_record_width(text, delimiter, skip, sample) > len(header):
        # pandas makes a column of every cell of a first data row longer than
        # the header before it warns. A row of a million cells took about 25 s
        # and gigabytes there, so the csv module reads such a file.
        return _ragged_table(text, delimiter, skip, header, decimal, limits)
    if _may_exceed_cells(utf8, len(header)):
        # pandas pads every short or blank line to the header's width before
        # blank rows are dropped: a million blank lines under a header of 200
        # columns took 3 GB. The csv module skips blank records instead.
        return _ragged_table(text, delimiter, skip, header, decimal, limits)
    try:
        try:
            frame = _read_csv_fast(
                utf8, delimiter, skip, decimal, float_positions, byte_positions
            )
            float_positions += _parse_amount_cells(frame, byte_positions, decimal)
        except pd.errors.ParserError:
            raise
        except (ValueError, OverflowError):
            # A cell of a numeric column is not a plain number, or an amount
            # cell is too long for its bytes column, so all are read as text.
            float_positions = []
            frame = _read_csv_fast(utf8, delimiter, skip, decimal, [])
    except pd.errors.EmptyDataError:
        raise InputError(
            "The file has no header row.", [Problem(reason="missing header", row=1)]
        ) from None
    except Exception:  # noqa: BLE001 - any pandas rejection of the content
        # Ragged rows raise ParserError. Other content pandas' C engine cannot
        # read must give a 400 too, so the csv module reads the file again and
        # names the row it fails on.
        return _ragged_table(text, delimiter, skip, header, decimal, limits)

    return _finish_table(frame, header, skip, float_positions, decimal, limits)


def _ragged_table(
    text: str,
    delimiter: str,
    skip: int,
    header: list[str],
    decimal: str,
    limits: InputLimits,
) -> Table:
    """Read the file with the csv module (``_read_csv_ragged``), all cells as text."""
    width = len(header)
    frame, rows, problems = _read_csv_ragged(text, delimiter, skip, width, limits)
    return _finish_table(frame, header, skip, [], decimal, limits, problems, rows)


def _parse_amount_cells(
    frame: pd.DataFrame, positions: Sequence[int], decimal: str
) -> list[int]:
    """Replace the byte columns at ``positions`` by amounts, or else by text.

    Returns the positions that became float64. Raises ValueError when a cell
    fills its bytes column, because it may have been cut.
    """
    parsed = []
    for position in positions:
        cells = frame.iloc[:, position].to_numpy()
        amounts = parse_amount_bytes(cells, decimal)
        if amounts is not None:
            frame.isetitem(position, amounts)
            parsed.append(position)
            continue
        if int(np.strings.str_len(cells).max(initial=0)) >= cells.dtype.itemsize:
            raise ValueError("an amount cell is longer than its bytes column")
        # The caller's file is UTF-8, so each whole cell decodes.
        text = [cell.decode("utf-8") for cell in cells.tolist()]
        frame.isetitem(position, pd.Series(text, dtype=str))
    return parsed


def _finish_table(
    frame: pd.DataFrame,
    header: list[str],
    skip: int,
    float_positions: list[int],
    decimal: str,
    limits: InputLimits,
    read_problems: Sequence[Problem] = (),
    rows: np.ndarray | None = None,
) -> Table:
    """Name the columns, drop blank rows and unnamed empty columns, count rows.

    ``rows`` gives the row number of each record of ``frame``. Without it the
    records follow the header one per row.
    """
    names = _unique_names(header)
    width = min(len(names), frame.shape[1])
    frame = frame.iloc[:, :width]
    frame.columns = names[:width]
    float_columns = {
        names[position] for position in float_positions if position < width
    }
    # Cells missing from short rows are NaN. A short row lacks the last cells,
    # so the last text column shows whether any text column has NaN.
    text_columns = [column for column in frame.columns if column not in float_columns]
    if text_columns and frame[text_columns[-1]].hasnans:
        for column in text_columns:
            frame[column] = frame[column].fillna("")

    if rows is None:
        # The header is one record after the skipped ones; data starts one later.
        rows = np.arange(len(frame), dtype=np.int64) + (skip + 2)
    blank_rows = _blank_rows(frame)
    if blank_rows.any():
        keep = ~blank_rows
        frame = frame.loc[keep].reset_index(drop=True)
        rows = rows[keep]
    if len(frame) > limits.max_rows:
        # Rows of spaces are skipped like blank ones, so they do not count.
        # Finding them costs a pass over every cell, so only this case pays it.
        spaces = _space_rows(frame)
        frame = frame.loc[~spaces].reset_index(drop=True)
        rows = rows[~spaces]
    if len(frame) > limits.max_rows:
        raise PayloadTooLarge(
            f"The file has more than the limit of {limits.max_rows} rows."
        )

    unnamed = [
        names[position]
        for position, cell in enumerate(header[:width])
        if not normalise_header(cell)
    ]
    empty = [column for column in unnamed if _blank_cells(frame[column]).all()]
    if empty:
        frame = frame.drop(columns=empty)
    headers = dict(zip(names[:width], header[:width], strict=True))
    return Table(
        columns=list(frame.columns),
        frame=frame,
        rows=rows,
        source="csv",
        decimal=decimal,
        read_problems=list(read_problems),
        headers={column: headers[column] for column in frame.columns},
    )


def _blank_cells(values: pd.Series) -> np.ndarray:
    """Flag empty cells (NaN in float columns)."""
    if values.dtype.kind == "f":
        return np.isnan(values.to_numpy(dtype=np.float64))
    return values.to_numpy() == ""


def _space_rows(frame: pd.DataFrame) -> np.ndarray:
    """Flag rows whose text cells are all whitespace and number cells all NaN."""
    spaces = np.ones(len(frame), dtype=bool)
    for _, values in frame.items():
        if values.dtype.kind == "f":
            spaces &= np.isnan(values.to_numpy(dtype=np.float64))
        else:
            spaces &= (values.str.strip() == "").to_numpy(dtype=bool)
    return spaces


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Flag rows whose cells are all empty, checking later columns on few rows."""
    if frame.shape[1] == 0:
        return np.ones(len(frame), dtype=bool)
    blank = _blank_cells(frame.iloc[:, 0])
    candidates = np.flatnonzero(blank)
    for position in range(1, frame.shape[1]):
        if len(candidates) == 0:
            break
        values = frame.iloc[:, position].iloc[candidates]
        still_blank = _blank_cells(values)
        blank[candidates[~still_blank]] = False
        candidates = candidates[still_blank]
    return blank


def require_records(table: Table, records_name: str) -> None:
    """Raise ``InputError`` when the table has no rows (a header-only file, ``[]``).

    ``records_name`` names the records in the message and the reason, as in
    "no holdings". JSON problems name the list, CSV problems no field.
    """
    if len(table.frame) == 0:
        field = table.records_field if table.source == "json" else None
        raise InputError(
            f"The portfolio has no {records_name}.",
            [Problem(reason=f"no {records_name}", field=field)],
        )


def whitespace_rows(table: Table, candidates: np.ndarray) -> np.ndarray:
    """Flag which candidate rows have only whitespace in every cell.

    ``read_table`` drops rows whose cells are all empty, a vectorised check.
    Callers pass the few rows that miss a required value (a boolean mask over
    ``table.frame``) to find the whitespace-only ones, which are blank too.
    """
    positions = np.flatnonzero(candidates)
    blank = np.zeros(len(table.frame), dtype=bool)
    blank[positions] = True
    for column in table.frame.columns:
        values = table.frame[column].to_numpy()[positions]
        if table.frame[column].dtype.kind == "f":
            blank[positions] &= np.isnan(values.astype(np.float64))
        else:
            blank[positions] &= [not str(cell).strip() for cell in values]
    return blank


# JSON ----------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")


class _RepeatedKey(ValueError):
    """An object of the JSON body has the same key twice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _RepeatedKey
    return document


def _exact_number_text(text: str) -> str:
    """Mark a JSON float's text as an exact number for the amount rules.

    ``str()`` of a float is the shortest text that reads back as that float.
    Without an exponent, ``1.234`` would be ambiguous: the amount rules read
    it as 1234 when other values of the column group thousands with ".".
    ``1.234e0`` is read as written and gives no evidence about separators.
    """
    if "e" in text or not text[-1].isdigit():  # 1e+16, inf and nan already
        return text
    return f"{text}e0"


def _read_json(
    body: bytes,
    limits: InputLimits,
    records_field: str | None,
    known_fields: Sequence[str],
    amount_fields: Sequence[str] = (),
) -> Table:
    """Read a JSON body: an object containing a list of records, or a bare list."""
    try:
        document = load_json(
            body, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
        )
    except _RepeatedKey:
        # json.loads would keep the last value and drop the others unreported.
        raise InputError(
            "An object of the JSON body has the same key twice: give each key once.",
            [Problem(reason="repeated key", field="body")],
        ) from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"The body is not valid JSON (line {error.lineno}, column {error.colno}).",
            [Problem(reason="invalid JSON", field="body")],
        ) from None
    except UnicodeDecodeError:
        raise InputError(
            "The JSON body is not valid UTF-8 text: send JSON as UTF-8.",
            [Problem(reason="invalid UTF-8", field="body")],
        ) from None
    except ValueError:
        # _reject_constant: NaN and Infinity, which JSON does not have.
        raise InputError(
            "The body is not valid JSON: NaN and Infinity are not JSON numbers.",
            [Problem(reason="invalid JSON", field="body")],
        ) from None

    # Messages name the caller's field, never a key taken from the body.
    prefix = records_field or "records"
    form_fields: dict[str, object] = {}
    if isinstance(document, list):
        records: object = document
    elif isinstance(document, dict):
        if records_field is None:
            lists = [key for key, value in document.items() if isinstance(value, list)]
            key = lists[0] if len(lists) == 1 else None
        else:
            key = records_field
        if key is None or key not in document:
            raise InputError(
                f"The JSON body has no '{prefix}' list.",
                [Problem(reason="missing", field=prefix)],
            )
        records = document[key]
        form_fields = {name: value for name, value in document.items() if name != key}
    else:
        raise InputError("The JSON body must be an object or a list.")
    if may_contain_surrogate(body):
        path = unencodable_path(document)
        if path is not None:
            records_key = key if isinstance(document, dict) else None
            where = _json_location(path, document, records_key, prefix, known_fields)
            raise InputError(
                "The JSON body contains an unpaired surrogate such as \\ud800,"
                " which is not valid Unicode. Send the text as UTF-8.",
                [Problem(reason="unpaired surrogate", field=where)],
            )
    if not isinstance(records, list):
        raise InputError(
            f"'{prefix}' must be a list.",
            [Problem(reason="must be a list", field=prefix)],
        )
    if len(records) > limits.max_rows:
        raise PayloadTooLarge(
            f"'{prefix}' has more than the limit of {limits.max_rows} entries."
        )

    columns: dict[str, list[str]] = {}
    problems: list[Problem] = []
    key_names: dict[str, str] = {}
    # The first key as written of each field, such as "Amount (€)".
    headers: dict[str, str] = {}
    known_names: dict[str, bool] = {}
    # Whether each key, as sent, names an amount field.
    amount_names: dict[str, bool] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(
                Problem(reason="must be an object", field=f"{prefix}[{index}]")
            )
            continue
        seen: set[str] = set()
        for position, (key, value) in enumerate(record.items(), start=1):
            name = key_names.get(key)
            if name is None:
                name = normalise_header(key) or "_"
                key_names[key] = name
                headers.setdefault(name, key)
                if len(key_names) > limits.max_columns:
                    raise PayloadTooLarge(
                        f"'{prefix}' entries have more than the limit of "
                        f"{limits.max_columns} fields."
                    )
                if len(headers) * len(records) > MAX_TABLE_CELLS:
                    # Each field gets a cell for every entry, as a CSV column.
                    raise PayloadTooLarge(
                        f"'{prefix}' has more than the limit of {MAX_TABLE_CELLS}"
                        " cells (entries times the fields they name)."
                    )
            # Keys are named in problems only when the route reads them, so
            # a key chosen by the caller never comes back in a response.
            known = known_names.get(name)
            if known is None:
                known = _match_column([name], known_fields) is not None
                known_names[name] = known
                amount_names[name] = _match_column([name], amount_fields) is not None
            located = f"{prefix}[{index}].{name}" if known else f"{prefix}[{index}]"
            where = "" if known else f"unknown field (key {position} of the object): "
            if name in seen:
                problems.append(
                    Problem(
                        reason=f"{where}duplicate field: another key of the object"
                        " names the same field once case and punctuation are ignored",
                        field=located,
                    )
                )
                continue
            seen.add(name)
            if value is None:
                cell = ""
            elif isinstance(value, str):
                cell = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                # Numbers become text, so they take the same parsing path as CSV.
                cell = str(value)
                if isinstance(value, float) and amount_names[name]:
                    cell = _exact_number_text(cell)
            else:  # true, false, an object or a list
                problems.append(
                    Problem(
                        reason=f"{where}must be a string or a number", field=located
                    )
                )
                continue
            cells = columns.get(name)
            if cells is None:
                # Not setdefault, which would build this list for every cell.
                cells = columns[name] = [""] * len(records)
            cells[index] = cell
    if problems:
        cap = limits.max_row_errors
        raise InputError(
            f"Some entries of '{prefix}' could not be read: see the problems list.",
            problems[:cap],
            truncated=len(problems) > cap,
        )

    frame = pd.DataFrame({name: cells for name, cells in columns.items()}, dtype=str)
    if not columns:
        frame = pd.DataFrame(index=range(len(records)))
    return Table(
        columns=list(frame.columns),
        frame=frame,
        rows=np.arange(len(records), dtype=np.int64),
        form_fields=form_fields,
        source="json",
        headers={name: headers[name] for name in frame.columns},
        records_field=prefix,
    )


def _json_location(
    path: JsonPath,
    document: object,
    records_key: str | None,
    prefix: str,
    known_fields: Sequence[str],
) -> str:
    """Name where a JSON path points, naming only fields the route reads."""
    if isinstance(document, dict):
        first = path[0] if path else None
        if first != records_key:
            return first if isinstance(first, str) and first in FORM_FIELDS else "body"
        path = path[1:]
    if not path:
        return prefix
    location = f"{prefix}[{path[0]}]"
    # The key is named only when it encodes (so its value is the bad text)
    # and the route reads it.
    if len(path) > 1 and isinstance(path[1], str) and is_utf8_encodable(path[1]):
        name = normalise_header(path[1])
        if _match_column([name], known_fields) is not None:
            location += f".{name}"
    return location


# multipart/form-data -------------------------------------------------------

# Content-Transfer-Encoding values that leave a part's bytes as they are
# (RFC 2045, section 6.1); an absent header means 7bit.
IDENTITY_TRANSFER_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
# MIME wraps base64 at 76 characters with CRLF (RFC 2045, section 6.8). Spaces
# and tabs at the ends of those lines are dropped with the line breaks.
_BASE64_LINE_BREAKS = b"\r\n \t"
# Browsers write a part's headers in a few hundred bytes, and a form has a
# few parts. The email package parses header parameters in time that grows
# with the square of their length: one 100 KB parameter took 12 s, and 500
# parts of 8 KB took 39 s. Within these limits the headers take at most
# about 0.2 s to parse.
MAX_PART_HEADER_BYTES = 8192
MAX_HEADER_BYTES = 16384
MAX_PARTS = 64


def _split_parts(body: bytes, boundary: bytes) -> list[bytes]:
    """Split a multipart body on its boundary (RFC 2046 section 5.1.1)."""
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        return []
    parts = []
    position = start + len(delimiter)
    while not body.startswith(b"--", position):
        # The rest of the boundary line (transport padding) is ignored.
        line_end = body.find(b"\n", position)
        following = -1 if line_end < 0 else body.find(b"\n" + delimiter, line_end + 1)
        if following < 0:
            raise InputError(
                "The multipart body is truncated: it ends before the closing"
                " boundary. Send the whole upload again.",
                [Problem(reason="truncated body", field="body")],
            )
        content_start = line_end + 1
        content_end = (
            following - 1 if body[following - 1 : following] == b"\r" else following
        )
        parts.append(body[content_start:content_end])
        position = following + 1 + len(delimiter)
    return parts


def _split_part(part: bytes) -> tuple[bytes, bytes]:
    """Split a part at its first blank line into its header block and content."""
    # The first blank line ends the headers, whichever line ends they use.
    ends = [
        (end, len(separator))
        for separator in (b"\r\n\r\n", b"\n\n")
        if (end := part.find(separator)) >= 0
    ]
    if not ends:
        return part, b""
    end, length = min(ends)
    return part[:end], part[end + length :]


def _check_part_headers(heads: Sequence[bytes]) -> None:
    """Reject more parts or longer header blocks than a browser sends.

    The limits come before any parsing, because the email package parses
    header parameters in time that grows with the square of their length.
    """
    if len(heads) > MAX_PARTS:
        raise InputError(
            f"The multipart body has more than the limit of {MAX_PARTS} parts:"
            " send the file and the form fields only.",
            [Problem(reason="too many parts", field="body")],
        )
    longest = max((len(head) for head in heads), default=0)
    if longest > MAX_PART_HEADER_BYTES or sum(map(len, heads)) > MAX_HEADER_BYTES:
        raise InputError(
            "The parts of the multipart body have headers longer than the limits"
            f" of {MAX_PART_HEADER_BYTES} bytes per part and {MAX_HEADER_BYTES}"
            " bytes in all: send the file as a browser does.",
            [Problem(reason="part headers too long", field="body")],
        )


def _parse_part_headers(head: bytes) -> Message:
    from email.parser import BytesHeaderParser

    return BytesHeaderParser().parsebytes(head + b"\r\n\r\n")


def _param(message: Message, name: str) -> str | None:
    value = message.get_param(name, header="content-disposition")
    if value is None:
        return None
    from email.utils import collapse_rfc2231_value

    return str(collapse_rfc2231_value(value))


def _read_multipart(
    body: bytes, content_type: str
) -> tuple[bytes, str, dict[str, object]]:
    """Return the uploaded file's bytes and Content-Type, and the text fields.

    The file is the part named ``file`` or the one part with a file name.
    More than one file, or a repeated text field, is rejected. File names are
    user input and are not kept.
    """
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise InputError(
            "multipart/form-data needs a boundary parameter in Content-Type.",
            [Problem(reason="missing boundary", field="Content-Type")],
        )
    boundary = (match.group(1) or match.group(2)).encode("latin-1", "replace")

    files: list[tuple[Message, bytes]] = []
    fields: dict[str, object] = {}
    repeated: list[str] = []
    parts = [_split_part(part) for part in _split_parts(body, boundary)]
    _check_part_headers([head for head, _ in parts])
    for head, content in parts:
        headers = _parse_part_headers(head)
        name = _param(headers, "name")
        if name == "file" or headers.get_filename() is not None:
            files.append((headers, content))
        elif name in fields:
            repeated.append(name)
        elif name:
            fields[name] = _decode_text_field(content)

    if len(files) > 1:
        # Reading one file would drop the holdings of the others unreported.
        raise InputError(
            "The upload has more than one file: send one portfolio file per request.",
            [Problem(reason=f"{len(files)} files sent, expected 1", field="file")],
        )
    known_repeated = sorted(set(repeated) & set(FORM_FIELDS))
    if repeated:
        raise InputError(
            "The upload repeats a form field: send each field once.",
            [
                Problem(reason="repeated form field", field=name)
                for name in known_repeated
            ]
            or [Problem(reason="repeated form field")],
        )
    chosen = files[0] if files else None
    if chosen is None:
        raise InputError(
            "The upload has no file: send the portfolio as the form field 'file'.",
            [Problem(reason="missing", field="file")],
        )
    headers, content = chosen
    encoding = str(headers.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        content = _decode_base64_part(content)
    elif encoding not in IDENTITY_TRANSFER_ENCODINGS:
        raise InputError(
            "The uploaded file's Content-Transfer-Encoding is not supported:"
            " send it unencoded or as base64.",
            [Problem(reason="unsupported Content-Transfer-Encoding", field="file")],
        )
    return content, str(headers.get("content-type", "")), fields


def _decode_base64_part(content: bytes) -> bytes:
    """Decode a base64 part strictly, after removing its line breaks.

    A lenient decoder stops at the first padding, so a part that joins two
    encoded blocks would lose every row after the first block unreported.
    """
    try:
        return base64.b64decode(
            content.translate(None, _BASE64_LINE_BREAKS), validate=True
        )
    except (binascii.Error, ValueError):
        raise InputError(
            "The uploaded file is not valid base64: encode it as one block,"
            " with padding only at its end.",
            [Problem(reason="invalid base64", field="file")],
        ) from None


def _decode_text_field(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")
