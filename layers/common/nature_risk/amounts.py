"""Parse money amounts the way spreadsheets and people write them.

Accepted: plain numbers (``1234.56``, ``1e6``, ``1,5e6``), decimal commas
(``1234,56``), thousands separators (``1,234.56``, ``1.234,56``, ``1 234,56``,
``1'234.56``), a currency symbol or an ISO 4217 code before or after the
number (``€ 1.234,56``, ``1234 EUR``, ``US$1,000``) and a lone dash, which
accounting formats write for zero. Blank cells give NaN without a problem.

Only ASCII digits count as digits.

Rejected with a reason: negative amounts (``-5``, ``(5)``, ``5-``), values
that are not finite or above ``MAX_AMOUNT``, and anything else that is not a
number.

A value with a single separator followed by exactly three digits (``1,234``
or ``1.234``) is ambiguous. It is read the way the other values of the same
column use their separators. When they give no evidence, the table's decimal
separator decides, which is "," for semicolon-separated files.

A value whose digits before the separator cannot be a first group of
thousands (``0,500``, ``,500``, ``1234,567``) is read as a decimal, or
rejected when the column uses the other separator as its decimal. Where no
value of the column shows its decimal separator, such values show it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from nature_risk.errors import Problem

# Active ISO 4217 currency codes, including precious metals and the codes of
# currencies in transition (ANG and XCG, SLL and SLE, ZWL and ZWG).
# NOTE: typed from memory of the ISO 4217 list as of 2025 and not checked
# against the published list, so a missing or newer code is rejected.
ISO_4217_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
    BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP
    CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW
    UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF
    XPT XSU XUA YER ZAR ZMW ZWG ZWL
    """.split()
)

REASON_INVALID = "invalid amount: expected a number such as 1234.56 or 1.234,56"
REASON_NEGATIVE = "negative amount: amounts must be zero or more"
REASON_NOT_FINITE = "amount is too large or not a number"
# The largest accepted amount. It bounds sums and score-weighted sums far
# below the float64 maximum (about 1.8e308), so no total overflows to
# infinity, however many rows a portfolio has.
MAX_AMOUNT = 1e18
REASON_TOO_LARGE = "amount is larger than the maximum of 1e18"

_SYMBOLS = "€$£¥₹₽₩₺₪₫¢"
# A currency symbol, optionally after up to three letters (US$, R$), or three
# letters, which must then be an ISO 4217 code in any case (EUR, eur).
_CURRENCY = rf"[A-Za-z]{{0,3}}[{_SYMBOLS}]|[A-Za-z]{{3}}"
# Patterns named *_PATTERN read amounts written with a currency, group spaces
# or a dash, which plain numbers never need. re's functions compile them on
# first use and cache them, which takes about 2.5 ms out of a cold start.

# Applied once group characters are removed. The groups mark the ways to
# write a negative amount: a sign, parentheses or a trailing minus. The number
# is any run of digits and separators, which later checks validate. Number
# patterns here are written so that no two quantifiers can share characters
# (``\d+(?:\.\d*)?``, not ``\d+\.?\d*``): a failed match then backtracks in
# linear time, where the other way took seconds on a 10,000-digit cell.
_AMOUNT_PATTERN = (
    rf"(?P<open>\()?(?P<sign>[-−+])?(?P<prefix>{_CURRENCY})?(?P<sign_after>[-−+])?"
    rf"(?P<number>[\d.,]+)"
    rf"(?P<suffix>{_CURRENCY})?(?P<trailing>-)?(?P<close>\))?"
)
_DASH_PATTERN = rf"\(?(?P<prefix>{_CURRENCY})?[-–—](?P<suffix>{_CURRENCY})?\)?"
# A space of any kind (no-break and thin spaces among them) except a line
# break, because a quoted cell "1\n234" is two lines, not a grouped 1234.
_SPACE = r"[^\S\n\r\v\f\x1c-\x1f\x85\u2028\u2029]"
# Spaces, no-break spaces, thin spaces and apostrophes group thousands.
_GROUP_CHARS_PATTERN = rf"(?:{_SPACE}|['’])+"
# A group character between digits must be followed by exactly three digits,
# so ``12 34`` is rejected while ``1234 EUR`` is not.
_BAD_GROUP_PATTERN = rf"[0-9](?:{_SPACE}|['’])+(?=[0-9])(?![0-9]{{3}}(?:[^0-9]|$))"
# A first group that starts with 0 (``0 500``, ``€ 0'500``), which groups nothing.
_LEADING_ZERO_GROUP_PATTERN = rf"[^0-9]*0[0-9]*(?:{_SPACE}|['’])+[0-9]"
# The first group has no leading zero: 0,001,000 groups nothing.
_GROUPED = {
    ",": re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?", re.ASCII),
    ".": re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+(?:,\d*)?", re.ASCII),
}
_CANONICAL = re.compile(r"\d+(?:\.\d*)?|\.\d+", re.ASCII)
# Plain numbers that pandas parses directly, for choosing the fast path.
_PLAIN = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*", re.ASCII)
_SAMPLE = 200
# A plain value with one separator and then exactly three digits, like 1.234
# or 0.500. The pandas fast path reads it with "." as the decimal, which the
# column's other values may contradict.
_AMBIGUOUS_PLAIN = re.compile(r"\s*[-+]?\d*[.,]\d{3}\s*", re.ASCII)
# Exponent forms and infinities, which float() reads. Infinities are then
# reported as not finite.
_FLOAT_LITERAL = re.compile(
    r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d+|inf|infinity)",
    re.IGNORECASE | re.ASCII,
)
# The same exponent forms with a decimal comma (1,5E+03), as spreadsheets in
# decimal-comma locales write them. pandas reads these in semicolon files.
_COMMA_FLOAT_LITERAL = re.compile(r"[-+]?(?:\d+,\d*|,\d+)[eE][-+]?\d+", re.ASCII)

_SHAPE = str.maketrans("0123456789", "9999999999")
_ANY_DIGIT = re.compile("[0-9]")

# Text columns of at least this many values are parsed by shape. Below it the
# per-value path is fast enough.
_SHAPE_PATH_MIN_VALUES = 1_000
# Values with at most this many digits are converted as integer / 10**decimals.
# The result equals float() of the text, because such integers are below 2**53,
# 10**0 to 10**15 are exact float64 values, and IEEE division rounds correctly.
_EXACT_DIGITS = 15
_POWERS_OF_TEN = np.array([float(10**power) for power in range(_EXACT_DIGITS + 1)])

# Byte classes of cells written with ASCII digits, "." and "," alone. A class
# takes two bits, so the classes of a cell of up to 32 bytes fit in a uint64.
_PAD_BYTE, _DIGIT_BYTE, _DOT_BYTE, _COMMA_BYTE = (np.uint8(code) for code in range(4))
MAX_AMOUNT_BYTES = 32
# Written amounts longer than this are invalid without being read. Valid ones
# up to the 1e18 maximum, such as "US$ 999,999,999,999,999,999.99", have about
# 30 characters.
MAX_AMOUNT_CHARS = 64


# Outcomes of reading one written amount.
_OK, _INVALID, _NEGATIVE, _AMBIGUOUS = 0, 1, 2, 3


def parse_amounts(
    values: Sequence[object] | pd.Series | np.ndarray,
    rows: Sequence[int] | np.ndarray,
    field: str,
    *,
    decimal: str = ".",
) -> tuple[np.ndarray, list[Problem]]:
    """Parse amounts into float64 (NaN for blank cells) and list each bad value.

    ``rows`` gives the row number of each value for the problems, which name
    ``field``. ``decimal`` is the separator to assume for ambiguous values
    when the column gives no evidence. Values of a float64 column are only
    checked.
    """
    rows = np.asarray(rows, dtype=np.int64)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind == "f":
        amounts = series.to_numpy(dtype=np.float64, copy=True)
        return amounts, _check_range(amounts, rows, field)

    if series.hasnans:
        series = series.fillna("")
    texts = series.astype(str).tolist()
    amounts = np.full(len(texts), np.nan)
    status = np.zeros(len(texts), dtype=np.int8)
    pending = np.arange(len(texts))
    if _looks_plain(texts, decimal):
        # Fast path: pandas parses plain numbers in one call. pandas reads
        # "nan" and "inf" as numbers too, so only finite results are kept.
        parsed = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
        parsed = parsed.to_numpy(dtype=np.float64, copy=True)
        finite = np.isfinite(parsed)
        if decimal == ",":
            # In decimal-comma files, 1.234 means 1234 and needs the slow path.
            finite &= np.array(["." not in text for text in texts], dtype=bool)
        amounts[finite] = parsed[finite]
        pending = np.flatnonzero(~finite)
        if len(pending) and any(
            _AMBIGUOUS_PLAIN.fullmatch(texts[position])
            for position in np.flatnonzero(finite).tolist()
        ):
            # A value left for the per-value path, such as 0,5 after the
            # sample, can show that "." groups thousands in this column. Then
            # 1.234 means 1234, so the whole column is read value by value.
            amounts[:] = np.nan
            pending = np.arange(len(texts))

    elif len(texts) >= _SHAPE_PATH_MIN_VALUES:
        shaped = _parse_text_shapes(texts, decimal)
        if shaped is not None:
            amounts, status = shaped
            pending = pending[:0]

    if len(pending):
        _parse_written(texts, pending, amounts, status, decimal)
    problems = [
        Problem(
            REASON_INVALID if code == _INVALID else REASON_NEGATIVE, int(row), field
        )
        for code, row in zip(status[status != _OK], rows[status != _OK], strict=True)
    ]
    amounts[status != _OK] = np.nan
    problems += _check_range(amounts, rows, field)
    problems.sort(key=lambda problem: problem.row or 0)
    return amounts, problems


def _looks_plain(texts: list[str], decimal: str) -> bool:
    """Tell from the first non-blank values whether the column is plain numbers.

    pandas is fast on plain numbers but slow on text it cannot parse, so a
    column of written amounts skips it.
    """
    sample = [text for text in texts[: _SAMPLE * 2] if text.strip()][:_SAMPLE]
    if decimal == ",":
        sample_ok = all(_PLAIN.fullmatch(text) and "." not in text for text in sample)
    else:
        sample_ok = all(_PLAIN.fullmatch(text) for text in sample)
    return bool(sample) and sample_ok


def _check_range(amounts: np.ndarray, rows: np.ndarray, field: str) -> list[Problem]:
    """List negative, infinite and too large amounts, then set them to NaN."""
    infinite = np.isinf(amounts)
    with np.errstate(invalid="ignore"):
        # -inf is reported once, as not finite.
        negative = (amounts < 0) & ~infinite
        too_large = (amounts > MAX_AMOUNT) & ~infinite
    problems = [Problem(REASON_NEGATIVE, int(row), field) for row in rows[negative]]
    problems += [Problem(REASON_NOT_FINITE, int(row), field) for row in rows[infinite]]
    problems += [Problem(REASON_TOO_LARGE, int(row), field) for row in rows[too_large]]
    amounts[negative | infinite | too_large] = np.nan
    return problems


def _parse_written(
    texts: list[str],
    positions: np.ndarray,
    amounts: np.ndarray,
    status: np.ndarray,
    decimal: str,
) -> None:
    """Parse written-out amounts at ``positions`` into ``amounts`` and ``status``.

    Values are grouped by shape (see ``_shape``: ``1.234,56 €`` has the shape
    ``9.999,99 €``). The outcome depends only on the shape, so one
    value per shape is read in full and the others are converted by deleting
    the same characters. A value like ``1,234`` is ambiguous. It is settled
    after the pass, by the separators the column's other values use, else by
    ``decimal``.
    """
    by_shape: dict[str, list[int]] = {}
    for position in positions.tolist():
        text = texts[position]
        if text.strip():
            by_shape.setdefault(_shape(text), []).append(position)

    ambiguous: list[tuple[int, float, float]] = []
    evidence: set[str] = set()
    hints: set[str] = set()
    for members in by_shape.values():
        first = _parse_one(texts[members[0]])
        if first.decimal_seen:
            evidence.add(first.decimal_seen)
        if first.decimal_hint:
            hints.add(first.decimal_hint)
        if first.table is None:
            readings = [_parse_one(texts[position]) for position in members]
        else:
            readings = [_convert(texts[position], first) for position in members]
        for position, reading in zip(members, readings, strict=True):
            status[position] = reading.outcome
            amounts[position] = reading.value
            if reading.outcome == _AMBIGUOUS:
                ambiguous.append((position, reading.value, reading.as_thousands))
    if not ambiguous:
        return

    if "." not in evidence and len(positions) < len(texts):
        # Values parsed on the fast path, like 12.5, show "." as the decimal.
        done = np.ones(len(texts), dtype=bool)
        done[positions] = False
        if any(_dot_decimal(texts[i]) for i in np.flatnonzero(done).tolist()):
            evidence.add(".")
    chosen = _column_decimal(evidence, hints, decimal)
    for position, as_decimal, as_thousands in ambiguous:
        decimal_reading = _separator_is(texts[position], chosen)
        value = as_decimal if decimal_reading else as_thousands
        amounts[position] = value
        status[position] = _INVALID if np.isnan(value) else _OK


def _column_decimal(evidence: set[str], hints: set[str], decimal: str) -> str:
    """Return the one decimal separator a column's values show, else ``decimal``.

    ``hints`` are the separators of values that can only be decimals, which
    count only when no value shows a decimal separator.
    """
    if len(evidence) == 1:
        return next(iter(evidence))
    if not evidence and len(hints) == 1:
        return next(iter(hints))
    return decimal


def _separator_is(text: str, chosen: str) -> bool:
    """Tell whether an ambiguous value (``1,234``) uses ``chosen`` as separator."""
    return ("." if "." in text else ",") == chosen


def _dot_decimal(text: str) -> bool:
    text = text.strip()
    point = text.rfind(".")
    return point >= 0 and len(text) - point - 1 != 3 and "e" not in text.lower()


class _Reading(NamedTuple):
    """The result of reading one written amount."""

    outcome: int
    # For an ambiguous value: read with its separator as the decimal separator.
    value: float
    # For an ambiguous value: read with its separator grouping thousands, or
    # NaN when the digits before it are not a valid first group.
    as_thousands: float = math.nan
    # The decimal separator the value shows, or "" when it shows none.
    decimal_seen: str = ""
    # The separator of an ambiguous value that can only be a decimal (0,500),
    # which decides the column's decimal separator when no value shows one.
    decimal_hint: str = ""
    # str.translate tables that turn a value of this shape into a plain number
    # (the thousands reading second), or None when the shape needs a full read.
    table: dict[int, str | None] | None = None
    thousands_table: dict[int, str | None] | None = None


_INVALID_READING = _Reading(_INVALID, math.nan)


def _parse_one(text: str) -> _Reading:
    """Read one written amount in full."""
    text = text.strip()
    if len(text) > MAX_AMOUNT_CHARS:
        return _INVALID_READING
    if _FLOAT_LITERAL.fullmatch(text):
        return _Reading(_OK, float(text))
    if _COMMA_FLOAT_LITERAL.fullmatch(text):
        return _Reading(_OK, float(text.replace(",", ".")))
    if re.search(_BAD_GROUP_PATTERN, text) or re.match(
        _LEADING_ZERO_GROUP_PATTERN, text
    ):
        return _INVALID_READING
    compact = re.sub(_GROUP_CHARS_PATTERN, "", text)
    dash = re.fullmatch(_DASH_PATTERN, compact, re.ASCII)
    if dash and _is_currency(dash["prefix"]) and _is_currency(dash["suffix"]):
        return _Reading(_OK, 0.0)
    match = re.fullmatch(_AMOUNT_PATTERN, compact, re.ASCII)
    if match is None or (match["open"] is None) != (match["close"] is None):
        return _INVALID_READING
    if not (_is_currency(match["prefix"]) and _is_currency(match["suffix"])):
        return _INVALID_READING
    negative = (
        match["sign"] in ("-", "−")
        or match["sign_after"] in ("-", "−")
        or match["trailing"] is not None
        or match["open"] is not None
    )

    number = match["number"]
    dots, commas = number.count("."), number.count(",")
    decimal_sep = thousands_sep = ""
    if dots and commas:
        decimal_sep = "." if number.rfind(".") > number.rfind(",") else ","
        thousands_sep = "," if decimal_sep == "." else "."
    elif dots or commas:
        separator = "." if dots else ","
        if dots + commas > 1:
            thousands_sep = separator
        elif len(number) - number.rfind(separator) - 1 == 3 and not negative:
            return _ambiguous(text, number, separator)
        else:
            decimal_sep = separator

    if thousands_sep and not _GROUPED[thousands_sep].fullmatch(number):
        return _INVALID_READING
    if decimal_sep and number.count(decimal_sep) > 1:
        return _INVALID_READING
    canonical = number.replace(thousands_sep, "") if thousands_sep else number
    if decimal_sep == ",":
        canonical = canonical.replace(",", ".")
    if not _CANONICAL.fullmatch(canonical):
        return _INVALID_READING
    seen = decimal_sep or {",": ".", ".": ","}.get(thousands_sep, "")
    return _Reading(
        _NEGATIVE if negative else _OK,
        float(canonical),
        decimal_seen=seen,
        table=_number_table(text, decimal_sep),
    )


def _is_currency(token: str | None) -> bool:
    """Tell whether a matched currency token is absent, a symbol or an ISO code."""
    return token is None or not token.isalpha() or token.upper() in ISO_4217_CODES


def _ambiguous(text: str, number: str, separator: str) -> _Reading:
    head = number[: number.rfind(separator)]
    as_decimal = _to_float(number.replace(separator, "."))
    # A first group of thousands has one to three digits and no leading 0.
    if 0 < len(head) <= 3 and head[0] != "0":
        return _Reading(
            _AMBIGUOUS,
            as_decimal,
            _to_float(number.replace(separator, "")),
            table=_number_table(text, separator),
            thousands_table=_number_table(text, ""),
        )
    return _Reading(
        _AMBIGUOUS,
        as_decimal,
        decimal_hint=separator,
        table=_number_table(text, separator),
    )


def _number_table(text: str, decimal_sep: str) -> dict[int, str | None]:
    """Build a table deleting every non-digit but the decimal separator."""
    table: dict[int, str | None] = {
        ord(char): None for char in set(text) if not "0" <= char <= "9"
    }
    if decimal_sep:
        table[ord(decimal_sep)] = "."
    return table


def _convert(text: str, first: _Reading) -> _Reading:
    """Read a value of the same shape as ``first`` with ``first``'s tables."""
    try:
        value = float(text.translate(first.table))
        as_thousands = math.nan
        if first.thousands_table is not None:
            as_thousands = float(text.translate(first.thousands_table))
    except ValueError:
        return _parse_one(text)
    return first._replace(value=value, as_thousands=as_thousands)


def _to_float(text: str) -> float:
    return float(text) if _CANONICAL.fullmatch(text) else math.nan


# Shape path ----------------------------------------------------------------
# A column has few shapes (digits as 9), and a value's outcome depends only on
# its shape, so one value per shape is read in full and the digits of all the
# others are converted in numpy. This gives what _parse_written gives.


class _Shape(NamedTuple):
    """The reading of every value of one shape, once ambiguous ones are settled."""

    outcome: int
    # Table turning a value of this shape into a plain number for float(), or
    # None for exponent forms (1e6) and dashes, which _parse_one reads.
    table: dict[int, str | None] | None = None
    # Offsets of the digits in the value (characters, which are bytes for
    # byte cells), or None when the values are read one by one.
    digits: np.ndarray | None = None
    # How many digits follow the decimal separator.
    decimals: int = 0


def _settle_shapes(
    exemplars: Sequence[str], decimal: str
) -> list[_Shape | None] | None:
    """Read one value of each shape and settle ambiguous ones by the column.

    As in ``_parse_written``, a value like ``1,234`` follows the decimal
    separator the column's other shapes show, else ``decimal``. Blank shapes
    give None. Returns None when an accepted value does not convert the way
    ``_parse_written`` converts it, which leaves the column to that path.
    """
    readings = [_parse_one(text) if text.strip() else None for text in exemplars]
    evidence = {reading.decimal_seen for reading in readings if reading} - {""}
    hints = {reading.decimal_hint for reading in readings if reading} - {""}
    chosen = _column_decimal(evidence, hints, decimal)

    shapes: list[_Shape | None] = []
    for text, reading in zip(exemplars, readings, strict=True):
        if reading is None:
            shapes.append(None)
            continue
        outcome, table = reading.outcome, reading.table
        if outcome == _AMBIGUOUS:
            if _separator_is(text, chosen):
                value = reading.value
            else:
                value, table = reading.as_thousands, reading.thousands_table
            outcome = _INVALID if np.isnan(value) else _OK
        if outcome != _OK:
            shapes.append(_Shape(outcome))
            continue
        shape = _shape_conversion(text, table)
        if shape is None:
            return None
        shapes.append(shape)
    return shapes


def _shape_conversion(text: str, table: dict[int, str | None] | None) -> _Shape | None:
    """Find where the digits of an accepted shape sit, for converting in numpy.

    Returns None when ``table`` does not turn ``text`` into a number.
    """
    if table is None:
        return _Shape(_OK)
    canonical = text.translate(table)
    try:
        float(canonical)
    except ValueError:
        return None
    digits = [i for i, char in enumerate(text) if "0" <= char <= "9"]
    point = canonical.find(".")
    decimals = 0 if point < 0 else len(canonical) - point - 1
    # Spaces around the number stay in ``canonical``. float() skips them, but
    # the digit offsets would not give the whole number.
    if len(digits) > _EXACT_DIGITS or len(digits) + (point >= 0) != len(canonical):
        return _Shape(_OK, table)
    return _Shape(_OK, table, np.array(digits, dtype=np.int64), decimals)


def _group_positions(codes: np.ndarray, count: int) -> list[np.ndarray]:
    """Split value positions by code (0 to count - 1), each group in input order."""
    # A stable sort of 8- and 16-bit integers is a radix sort in numpy.
    order = np.argsort(codes.astype(np.min_scalar_type(count)), kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=count))
    return np.split(order, ends[:-1])


def _convert_shapes(
    shapes: list[_Shape | None],
    groups: list[np.ndarray],
    rows_of: Callable[[np.ndarray, int], np.ndarray],
    text_at: Callable[[int], str],
) -> tuple[np.ndarray, np.ndarray]:
    """Convert every value by its shape into amounts and outcomes.

    ``groups[k]`` lists the positions of the values of shape ``k``.
    ``rows_of(positions, width)`` returns at least the first ``width``
    character codes of those values, one row each. ``text_at(i)`` returns
    value ``i`` for the few shapes that numpy cannot convert exactly.
    """
    count = int(sum(len(members) for members in groups))
    amounts = np.full(count, np.nan)
    status = np.zeros(count, dtype=np.int8)
    for shape, members in zip(shapes, groups, strict=True):
        if shape is None:
            continue  # blank values
        if shape.outcome != _OK:
            status[members] = shape.outcome
        elif shape.digits is not None:
            rows = rows_of(members, int(shape.digits[-1]) + 1)
            powers = _POWERS_OF_TEN[len(shape.digits) - 1 :: -1]
            integers = np.zeros(len(members))
            for column, power in zip(shape.digits.tolist(), powers, strict=True):
                integers += (rows[:, column] - ord("0")) * power
            amounts[members] = integers / _POWERS_OF_TEN[shape.decimals]
        elif shape.table is not None:
            table = shape.table
            amounts[members] = [
                float(text_at(i).translate(table)) for i in members.tolist()
            ]
        else:  # exponent forms and dashes
            amounts[members] = [_parse_one(text_at(i)).value for i in members.tolist()]
    return amounts, status


def _shape(text: str) -> str:
    """Return the shape of a value: its ASCII digits as 9, but a first digit 0 kept.

    A value's reading depends only on its shape. The first digit counts
    because a first group of thousands never starts with 0, so ``0,500`` is a
    decimal where ``2,125`` is ambiguous.
    """
    shape = text.translate(_SHAPE)
    first = shape.find("9")
    if first >= 0 and text[first] == "0":
        shape = f"{shape[:first]}0{shape[first + 1 :]}"
    return shape


def _split_leading_zeros(
    codes: np.ndarray,
    exemplars: Sequence[str],
    first_digits: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, int]:
    """Split shape codes (digits as 9) into ``_shape`` codes, by the first digit.

    ``exemplars[k]`` is a value of code ``k``, and its first digit sits at the
    same offset in every value of that code. ``first_digits(positions,
    offsets)`` returns the character codes at those offsets of those values.
    Returns the new codes, numbered from 0, and their count.
    """
    offsets = np.array([_first_digit(text) for text in exemplars], dtype=np.int64)
    offsets = offsets[codes]
    positions = np.flatnonzero(offsets >= 0)
    zero = np.zeros(len(codes), dtype=np.int64)
    zero[positions] = first_digits(positions, offsets[positions]) == ord("0")
    codes, distinct = pd.factorize(codes * 2 + zero)
    return codes, len(distinct)


def _first_digit(text: str) -> int:
    """Return the offset of the first ASCII digit in ``text``, or -1."""
    match = _ANY_DIGIT.search(text)
    return match.start() if match else -1


def _first_positions(codes: np.ndarray) -> np.ndarray:
    """Return the position of the first value of each code, in code order."""
    # pd.factorize numbers codes in order of first appearance.
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def _digits_as_nines(text: str) -> str:
    """Replace every ASCII digit by 9, which turns values into their shapes."""
    if text.isascii():
        return text.translate(_SHAPE)
    # str.translate is slow on text that is not ASCII (1.234,56 €), so numpy
    # maps its UTF-32 code units.
    chars = _code_units(text)
    digits = (chars >= ord("0")) & (chars <= ord("9"))
    shaped = np.where(digits, np.uint32(ord("9")), chars).tobytes()
    return shaped.decode("utf-32-le", "surrogatepass")


def _code_units(text: str) -> np.ndarray:
    """Return the UTF-32 code units of ``text``, one per character."""
    # surrogatepass keeps an unpaired surrogate as one code unit too.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _parse_text_shapes(
    texts: list[str], decimal: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Parse a text column by shape into amounts and outcomes.

    Returns None when a value has a line break, or a shape is left to
    ``_parse_written``.
    """
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        return None
    chars = _code_units(joined)  # so offsets count characters
    starts = np.zeros(len(texts), dtype=np.int64)
    starts[1:] = np.flatnonzero(chars == ord("\n")) + 1

    lines = np.asarray(_digits_as_nines(joined).split("\n"), dtype=object)
    codes, _ = pd.factorize(lines)
    codes, count = _split_leading_zeros(
        codes,
        [texts[position] for position in _first_positions(codes)],
        lambda positions, offsets: chars[starts[positions] + offsets],
    )
    groups = _group_positions(codes, count)
    shapes = _settle_shapes([texts[int(group[0])] for group in groups], decimal)
    if shapes is None:
        return None

    def rows_of(positions: np.ndarray, width: int) -> np.ndarray:
        # Row i of the window view is chars[i : i + width], without a copy.
        windows = np.lib.stride_tricks.sliding_window_view(chars, width)
        return windows[starts[positions]]

    return _convert_shapes(shapes, groups, rows_of, texts.__getitem__)


def parse_amount_bytes(cells: np.ndarray, decimal: str = ".") -> np.ndarray | None:
    """Parse byte cells (numpy ``S`` dtype) of ASCII digits, "." and "," to float64.

    This is ``parse_amounts`` for amounts as spreadsheets save them
    (``1.234.567,89``, ``1234,5``), without making a Python string per cell,
    and it gives the same floats. Blank cells give NaN. Returns None when a
    cell contains any other byte, fills the whole width (so it may have been
    cut) or is not a valid amount. The caller then parses the cells as text,
    which lists each bad one. ``decimal`` is as in ``parse_amounts``.
    """
    count = len(cells)
    if count == 0:
        return np.zeros(0)
    cells = np.ascontiguousarray(cells)
    padded = _padded_width(cells)
    if padded is None:
        return None

    # Each cell's shape is one uint64 made of the 2-bit class of each byte.
    # Word i of a row contains the classes of 8 bytes, shifted by 2 * i bits.
    grid = cells.astype(f"S{padded}").view(np.uint8).reshape(count, padded)
    digits = (grid - np.uint8(ord("0"))) < 10  # bytes below "0" wrap around
    classes = (
        digits * _DIGIT_BYTE
        + (grid == ord(".")) * _DOT_BYTE
        + (grid == ord(",")) * _COMMA_BYTE
    )
    if ((classes == _PAD_BYTE) & (grid != 0)).any():
        return None  # another byte
    words = classes.view(np.uint64)
    keys = words[:, 0].copy()
    for index in range(1, padded // 8):
        keys |= words[:, index] << np.uint64(2 * index)
    codes, _ = pd.factorize(keys)
    codes, shape_count = _split_leading_zeros(
        codes,
        [cells[position].decode("ascii") for position in _first_positions(codes)],
        lambda positions, offsets: grid[positions, offsets],
    )

    groups = _group_positions(codes, shape_count)
    exemplars = [cells[int(group[0])].decode("ascii") for group in groups]
    shapes = _settle_shapes(exemplars, decimal)
    if shapes is None or any(shape and shape.outcome != _OK for shape in shapes):
        return None
    amounts, _ = _convert_shapes(
        shapes,
        groups,
        # ndarray.take copies whole rows much faster than fancy indexing.
        lambda positions, width: grid.take(positions, axis=0),
        lambda i: cells[i].decode("ascii"),
    )
    return amounts


def _padded_width(cells: np.ndarray) -> int | None:
    """Return the multiple of 8 bytes that fits every cell, up to 32 bytes.

    Returns None when a cell fills the whole width, as it may have been cut.
    numpy pads ``S`` cells with NUL bytes, so a cell is longer than ``n``
    bytes exactly when its byte ``n`` is not NUL.
    """
    width = cells.dtype.itemsize
    grid = cells.view(np.uint8).reshape(len(cells), width)
    if grid[:, -1].any():
        return None
    for padded in range(8, MAX_AMOUNT_BYTES + 1, 8):
        if padded >= width or not grid[:, padded].any():
            return padded
    return None


def parse_currency(value: object) -> str | None:
    """Return the ISO 4217 code ``value`` spells (any case), or None if invalid."""
    if not isinstance(value, str):
        return None
    if is_pence(value):
        return None
    code = value.strip().upper()
    return code if code in ISO_4217_CODES else None


# ISO 4217 codes that a currency symbol may stand for. "$" is written for
# dollars and pesos; a prefix (US$, R$) narrows it.
_DOLLAR_CODES = frozenset(
    """
    USD CAD AUD NZD SGD HKD TWD MXN ARS CLP COP CUP DOP UYU BSD BBD BZD BMD BND
    KYD FJD GYD JMD LRD NAD SBD SRD TTD XCD NIO TOP
    """.split()
)
SYMBOL_CODES: dict[str, frozenset[str]] = {
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP", "EGP", "FKP", "GIP", "SHP", "SSP", "SYP", "LBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
    "₽": frozenset({"RUB"}),
    "₩": frozenset({"KRW", "KPW"}),
    "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "$": _DOLLAR_CODES,
    "¢": _DOLLAR_CODES,
    "US$": frozenset({"USD"}),
    "R$": frozenset({"BRL"}),
    "C$": frozenset({"CAD", "NIO"}),
    "CA$": frozenset({"CAD"}),
    "A$": frozenset({"AUD"}),
    "AU$": frozenset({"AUD"}),
    "NZ$": frozenset({"NZD"}),
    "HK$": frozenset({"HKD"}),
    "S$": frozenset({"SGD"}),
    "NT$": frozenset({"TWD"}),
    "MX$": frozenset({"MXN"}),
}
# A currency symbol with its prefix (US$), as ``symbol_codes`` reads it.
CURRENCY_SYMBOL_PATTERN = rf"[A-Za-z]{{0,3}}[{_SYMBOLS}]"
_CURRENCY_TOKEN_PATTERN = (
    rf"{CURRENCY_SYMBOL_PATTERN}|(?<![A-Za-z])[A-Za-z]{{3}}(?![A-Za-z])"
)
# Characters that can start a currency token. The letter e alone is left out
# because exponents (1e6) use it and a code has three letters.
_CURRENCY_HINT = re.compile(rf"[A-DF-Za-df-z{_SYMBOLS}]")
# The ASCII characters that cannot start a currency token, which
# bytes.translate deletes to test an ASCII column in one pass.
_ASCII_NON_HINTS = bytes(
    code for code in range(128) if not _CURRENCY_HINT.match(chr(code))
)
REASON_OTHER_CURRENCY = "the amount's currency differs from the portfolio's currency"
REASON_QUANTITY_CURRENCY = "a quantity cannot have a currency"
REASON_NO_SINGLE_CURRENCY = (
    "the amount names two currencies, or pence (GBp or GBX): give one currency"
)
REASON_MIXED_CURRENCY = (
    "the amount's currency differs from the currency of an earlier amount"
)


def _token_codes(text: str) -> frozenset[str] | None:
    """Return the ISO codes the currency written in an amount may be.

    Returns None when the text names no currency, and an empty set when it
    names currencies that cannot be one (``€5 USD``) or pence sterling
    (``5 GBp``), which no ISO code stands for.
    """
    codes: frozenset[str] | None = None
    for match in re.finditer(_CURRENCY_TOKEN_PATTERN, text):
        token = match.group(0)
        if is_pence(token):
            return frozenset()
        if token.isalpha():
            code = token.upper()
            named = frozenset({code}) if code in ISO_4217_CODES else None
        else:
            named = symbol_codes(token)
        if named is not None:
            codes = named if codes is None else codes & named
    return codes


def is_pence(word: str) -> bool:
    """Tell whether a word names pence sterling as market data writes it.

    ``GBp`` (lower-case p) and ``GBX`` are the London Stock Exchange's
    notations for prices in pence. Neither is an ISO 4217 code, and GBp would
    otherwise read as GBP, a hundredfold error.
    """
    return word.strip() == "GBp" or word.strip().upper() == "GBX"


def symbol_codes(token: str) -> frozenset[str] | None:
    """Return the ISO codes a currency symbol (``€``, ``US$``) may stand for."""
    upper = token.upper()
    return SYMBOL_CODES.get(upper) or SYMBOL_CODES.get(upper[-1])


def _cell_codes(
    values: Sequence[object] | pd.Series,
) -> tuple[np.ndarray, list[frozenset[str] | None]] | None:
    """Map cells to the currency codes they name; None when no cell names one."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind == "f" or len(series) == 0:
        return None
    # The currency a cell names does not depend on its digits, so cells are
    # grouped by shape (digits as 9), of which a column has few. One translate
    # of the joined column is several times faster than one per cell.
    cells = series.astype(str).tolist()
    joined = "\x00".join(cells)
    if joined.isascii():
        # Most amount columns have no letter but e and no "$" at all.
        hints = joined.encode("ascii").translate(None, _ASCII_NON_HINTS)
        if not hints:
            return None
    if joined.count("\x00") == len(cells) - 1:
        shapes = _digits_as_nines(joined).split("\x00")
    else:  # a cell contains the separator
        shapes = [cell.translate(_SHAPE) for cell in cells]
    positions, distinct = pd.factorize(np.asarray(shapes, dtype=object))
    texts = [str(text) for text in distinct]
    if not _CURRENCY_HINT.search("\n".join(texts)):
        return None
    return positions, [_token_codes(text) for text in texts]


def reject_currencies(
    values: Sequence[object] | pd.Series, rows: Sequence[int] | np.ndarray, field: str
) -> list[Problem]:
    """List the cells of a quantity column (tonnes, hectares) that name a currency."""
    cells = _cell_codes(values)
    if cells is None:
        return []
    positions, codes_of = cells
    rows = np.asarray(rows, dtype=np.int64)
    return [
        Problem(REASON_QUANTITY_CURRENCY, int(rows[index]), field)
        for index in np.flatnonzero(positions >= 0).tolist()
        if codes_of[positions[index]] is not None
    ]


def check_amount_currencies(
    values: Sequence[object] | pd.Series,
    rows: Sequence[int] | np.ndarray,
    field: str,
    currency: str | None,
) -> tuple[str | None, list[Problem]]:
    """Check the currencies written in amount cells (``5 USD``, ``€ 5``).

    Every cell that names a currency must name ``currency`` or, without one,
    the same currency as the other cells, because amounts in different
    currencies cannot be added. A symbol matches each code it may stand for
    (``$`` matches USD and CAD). Returns the portfolio's currency, which the
    cells decide when ``currency`` is None and they name exactly one code,
    and a problem for each cell that differs.
    """
    cells = _cell_codes(values)
    if cells is None:
        return currency, []
    positions, codes_of = cells

    # pd.factorize numbers shapes in order of first appearance. A shape that
    # matches the currencies before its first cell matches at every later
    # cell too, because the expected set only narrows, so shapes decide.
    expected = frozenset({currency}) if currency else None
    rejected: list[int] = []
    for shape, codes in enumerate(codes_of):
        if codes is None:
            continue
        if not codes:
            rejected.append(shape)
        elif expected is None:
            expected = codes
        elif expected & codes:
            expected &= codes
        else:
            rejected.append(shape)
    reason = REASON_OTHER_CURRENCY if currency else REASON_MIXED_CURRENCY
    rows = np.asarray(rows, dtype=np.int64)
    mask = np.isin(positions, rejected)
    problems = [
        Problem(reason if codes_of[shape] else REASON_NO_SINGLE_CURRENCY, row, field)
        for row, shape in zip(
            rows[mask].tolist(), positions[mask].tolist(), strict=True
        )
    ]
    if currency is None and expected is not None and len(expected) == 1:
        currency = next(iter(expected))
    return currency, problems
