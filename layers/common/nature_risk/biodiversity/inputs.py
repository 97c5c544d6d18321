"""Column helpers shared by the mining and agriculture parsers.

Both read the body with ``nature_risk.tabular.read_table``, so they accept the
same CSV, JSON and multipart uploads, row numbers and limits as every other
dashboard route. Problems name a row and a field, never the cell's value.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nature_risk.amounts import (
    check_amount_currencies,
    parse_amounts,
    reject_currencies,
)
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, Problem
from nature_risk.portfolio_input import read_currency
from nature_risk.tabular import Table, find_column, whitespace_rows

_LIST_INDEX = re.compile(r"\[(\d+)\]")
# No two quantifiers share characters, so a failed match is linear in time.
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class RowLocator:
    """The way problems name an input row: a CSV row number or a JSON list index.

    It is kept apart from the parsed table so that stored portfolios, rebuilt
    without a table, name rows the same way.
    """

    source: str = "csv"
    records_field: str | None = None

    @classmethod
    def of(cls, table: Table) -> RowLocator:
        return cls("json" if table.source == "json" else "csv", table.records_field)

    def problem(self, row: int, field: str, reason: str) -> Problem:
        """Build a problem that names ``row`` as the input counts it."""
        if self.source == "json":
            prefix = self.records_field or "records"
            return Problem(reason=reason, field=f"{prefix}[{row}].{field}")
        return Problem(reason=reason, row=int(row), field=field)

    def label(self, row: int) -> str:
        """Name a row in a message: ``row 7`` or ``assets[5]``."""
        if self.source == "json":
            return f"{self.records_field or 'records'}[{row}]"
        return f"row {row}"


def text_column(table: Table, aliases: Sequence[str]) -> list[str | None] | None:
    """Return the stripped cells of the first matching column (None for blanks)."""
    column = find_column(table, aliases)
    if column is None:
        return None
    return [cell.strip() or None for cell in table.frame[column].astype(str).tolist()]


def number_column(
    table: Table,
    aliases: Sequence[str],
    field: str,
    *,
    low: float,
    high: float,
    required: bool,
    problems: list[Problem],
) -> np.ndarray | None:
    """Read a signed decimal column (coordinates); NaN for blank optional cells.

    Accepts the table's decimal separator. A blank required cell, text that is
    not a number, or a number outside [low, high] adds a problem for its row.
    """
    column = find_column(table, aliases)
    if column is None:
        if required:
            problems.append(Problem(reason="missing column", field=field))
        return None
    series = table.frame[column]
    if series.dtype.kind == "f":
        values = series.to_numpy(dtype=float).copy()
        cells: list[str | None] = [None] * len(values)
        # pandas reads "inf" as a number. A non-blank cell text makes its NaN
        # "not a number" below.
        for index in np.flatnonzero(np.isinf(values)).tolist():
            cells[index] = "inf"
            values[index] = np.nan
    else:
        cells = series.astype(str).tolist()
        values = np.array([_to_float(cell, table.decimal) for cell in cells])
    for index in np.flatnonzero(np.isnan(values) | (values < low) | (values > high)):
        row = int(table.rows[index])
        cell = cells[index]
        blank = np.isnan(values[index]) and (cell is None or not cell.strip())
        if blank and not required:
            continue
        if blank:
            reason = "missing"
        elif np.isnan(values[index]):
            reason = "not a number"
        else:
            reason = f"out of range: must be between {low:g} and {high:g}"
        problems.append(table.problem(row, field, reason))
    return values


def _to_float(cell: str, decimal: str) -> float:
    """Read a plain signed decimal number; NaN for anything else.

    ``float()`` alone would also take ``4_5``, non-ASCII digits, ``nan`` and
    ``inf``, so the text must match an ASCII decimal first.
    """
    text = cell.strip(" \t").replace("\u2212", "-")
    if decimal == ",":
        text = text.replace(",", ".")
    if not _DECIMAL.fullmatch(text):
        return math.nan
    value = float(text)
    return value if math.isfinite(value) else math.nan


# Largest production (t) or area (ha) one holding may state. The largest crop,
# sugar cane, yields roughly 2e9 t a year worldwide (an estimate), so 1e12
# leaves room for any real portfolio and keeps every footprint and total finite.
MAX_QUANTITY = 1e12


def exact_column(table: Table, aliases: Sequence[str]) -> str | None:
    """Return the first column named exactly as an alias, or None.

    Unlike ``find_column`` no prefix matches, because a header such as
    ``area_km2`` or ``production_kg`` names another unit.
    """
    present = set(table.columns)
    return next((alias for alias in aliases if alias in present), None)


def has_prefixed_column(table: Table, aliases: Sequence[str]) -> bool:
    """Tell whether a column starts with an alias and ``_`` (``area_km2``)."""
    return any(
        column.startswith(alias + "_") for alias in aliases for column in table.columns
    )


def quantity_column(
    table: Table,
    aliases: Sequence[str],
    field: str,
    unit: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Read a physical quantity column (tonnes, hectares); None if absent.

    Returns the values (NaN where blank or invalid) and a mask of the cells
    that hold text. A cell must be a plain ASCII decimal in the table's decimal
    separator, with no currency or thousands separator, between 0 and
    ``MAX_QUANTITY``. Each invalid cell adds one problem for its row.
    """
    column = exact_column(table, aliases)
    if column is None:
        return None
    series = table.frame[column]
    if series.dtype.kind == "f":
        values = series.to_numpy(dtype=float).copy()
        filled = ~np.isnan(values)
        values[~np.isfinite(values)] = np.nan
    else:
        cells = series.astype(str).tolist()
        filled = np.array([bool(cell.strip()) for cell in cells], dtype=bool)
        values = np.array([_to_float(cell, table.decimal) for cell in cells])
    invalid = filled & np.isnan(values)
    if invalid.any():
        # A cell that names a currency gets that reason in place of "not a number".
        priced = reject_currencies(series.iloc[invalid], table.rows[invalid], field)
        problems.extend(table.relocate(priced))
        priced_rows = {problem.row for problem in priced}
        invalid &= ~np.isin(table.rows, list(priced_rows))
    with np.errstate(invalid="ignore"):
        negative = values < 0
        too_large = values > MAX_QUANTITY
    reasons = (
        (invalid, f"not a number: give {unit} as a plain number such as 1234.5"),
        (negative, f"negative: {unit} must be zero or more"),
        (too_large, f"too large: {unit} must be at most {MAX_QUANTITY:g}"),
    )
    for mask, reason in reasons:
        for index in np.flatnonzero(mask).tolist():
            problems.append(table.problem(int(table.rows[index]), field, reason))
    values[negative | too_large] = np.nan
    return values, filled


def read_amounts(
    table: Table, aliases: Sequence[str], problems: list[Problem]
) -> tuple[np.ndarray | None, str | None]:
    """Read the money amounts and their currency by the natural capital rules.

    The currency is the form or JSON field ``currency``, else the currency
    column (one value for every row), else the one the amount header names
    (``Amount (EUR)``). An amount cell that names another currency, or
    without any of these one other than the other cells, gets a problem for
    its row. Returns NaN for blank amounts, and None without an amount column.
    """
    column = find_column(table, aliases)
    currency, currency_problems = read_currency(table, column)
    problems.extend(currency_problems)
    if column is None:
        return None, currency

    cells = table.frame[column]
    values, amount_problems = parse_amounts(
        cells, table.rows, "amount", decimal=table.decimal
    )
    problems.extend(table.relocate(amount_problems))
    if not currency_problems:
        # Amounts in different currencies cannot be added up.
        currency, cell_problems = check_amount_currencies(
            cells, table.rows, "amount", currency
        )
        problems.extend(table.relocate(cell_problems))
    return np.asarray(values, dtype=float), currency


def drop_whitespace_rows(table: Table) -> Table:
    """Drop CSV rows whose every cell is spaces, which look blank in a spreadsheet.

    ``read_table`` already drops rows of empty cells. JSON records are kept,
    because an object of blank strings is a record the caller sent.
    """
    if table.source == "json" or len(table.frame) == 0:
        return table
    first = table.frame.iloc[:, 0]
    if first.dtype.kind == "f":
        candidates = np.isnan(first.to_numpy(dtype=float))
    else:
        candidates = np.array([not str(cell).strip() for cell in first], dtype=bool)
    if not candidates.any():
        return table
    blank = whitespace_rows(table, candidates)
    if not blank.any():
        return table
    keep = ~blank
    return dataclasses.replace(
        table,
        frame=table.frame.loc[keep].reset_index(drop=True),
        rows=table.rows[keep],
    )


def raise_problems(problems: list[Problem], limits: InputLimits, what: str) -> None:
    """Raise one InputError listing every problem, capped at ``max_row_errors``.

    The cap counts problems, not rows, because one row can have several. The
    message states how many were found and, above the cap, how many are listed.
    """
    if not problems:
        return
    problems = sorted(problems, key=problem_order)
    cap = limits.max_row_errors
    count = len(problems)
    if count <= cap:
        message = (
            f"The {what} are invalid: fix the {count} listed "
            f"{'problem' if count == 1 else 'problems'}."
        )
    else:
        message = (
            f"The {what} are invalid: {count} problems found. The first {cap} "
            "are listed (MAX_ROW_ERRORS)."
        )
    raise InputError(message, problems[:cap], truncated=count > cap)


def problem_order(problem: Problem) -> tuple[int, str]:
    """Order by CSV row, or by JSON list index for fields like ``assets[3].x``."""
    if problem.row is not None:
        return (problem.row, problem.field or "")
    match = _LIST_INDEX.search(problem.field or "")
    return (int(match.group(1)) if match else -1, problem.field or "")


def finite_or_none(value: float) -> float | None:
    """Return a JSON-safe number: None for NaN or infinity."""
    return float(value) if math.isfinite(value) else None
