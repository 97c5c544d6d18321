"""Read a natural-capital portfolio (holdings) from a CSV, upload or JSON body.

CSV and multipart uploads have one row per holding with a code column and
optional name and amount columns (common header names are recognised, see
``CODE_ALIASES``, ``NAME_ALIASES`` and ``AMOUNT_ALIASES``). A ``currency``
column, or the form field ``currency``, gives the amounts' currency. A
currency written in an amount cell (``5 USD``, ``€ 5``) must match it, or
without one match the other cells, and then gives the currency itself.

The JSON form is::

    {
      "currency": "EUR",
      "holdings": [
        {"name": "Example Farms", "code": "0111", "amount": 2500000},
        {"name": "Example Mills", "code": "C_10_106", "amount": "1.234,56 €"}
      ],
      "options": {"exclude_water_supply": true}
    }

``currency`` and ``options`` are optional. ``options`` is an object of flags
and numbers passed on to the dashboard unchanged. In a multipart upload,
the ``options`` form field carries the same object as JSON text. Other
top-level fields are ignored.

Either every holding has an amount or none does. Without amounts every
holding gets the same weight. Every bad row is reported in one ``InputError``
(row, field, reason), and without an error every non-blank row is a holding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nature_risk.amounts import (
    CURRENCY_SYMBOL_PATTERN,
    ISO_4217_CODES,
    check_amount_currencies,
    is_pence,
    parse_amounts,
    parse_currency,
    symbol_codes,
)
from nature_risk.config import InputLimits
from nature_risk.errors import InputError, Problem
from nature_risk.option_flags import read_options
from nature_risk.tabular import Table, find_column, read_table, whitespace_rows

CODE_ALIASES = (
    "code",
    "activity_code",
    "isic_code",
    "isic",
    "isic_class",
    "isic_rev_4",
    "isic_unique_code",
    "encore_code",
    "nace_code",
    "nace",
    "nace_rev_2",
    "gics_code",
    "gics",
    "sector_code",
    "industry_code",
    "exiobase_sector",
    "activity",
    "sector",
)
NAME_ALIASES = (
    "name",
    "holding",
    "holding_name",
    "company",
    "company_name",
    "issuer",
    "issuer_name",
    "counterparty",
    "borrower",
    "entity",
    "investee",
)
AMOUNT_ALIASES = (
    "amount",
    "exposure",
    "exposure_amount",
    "value",
    "market_value",
    "outstanding",
    "outstanding_amount",
    "notional",
    "nominal",
    "balance",
    "investment",
    "loan_amount",
    "holding_value",
    "mv",
    "weight",
    "portfolio_weight",
    "betrag",
    "montant",
    "importe",
    "importo",
)
CURRENCY_ALIASES = ("currency", "currency_code", "ccy")

# ``="0111"`` is how users keep Excel from dropping a code's leading zeros.
_EXCEL_TEXT_FORMULA = re.compile(r'="(.*)"')
# The words of an amount header such as "Amount (EUR)".
_HEADER_WORD = re.compile(r"[A-Za-z]+")
_LIST_INDEX = re.compile(r"\[(\d+)\]")

TEMPLATE_ROWS = (
    ("name", "code", "amount"),
    ("Example Farms Ltd", "0111", "2500000"),
    ("Example Dairy Cooperative", "C_10_105", "1200000.50"),
    ("Example Power Generation plc", "D3510", "4000000"),
)


@dataclass(slots=True)
class HoldingsTable:
    """The holdings of one portfolio, in input order.

    ``rows`` are spreadsheet row numbers for CSV input (the header is row 1)
    and list indexes (from 0) for JSON input, whose list ``records_field``
    names (None for CSV input). ``amounts`` is None when no
    holding has an amount. ``parse_holdings`` also sets ``code_positions``,
    each holding's index into ``distinct_codes``, so that the dashboard need
    not factorise the codes again. Both are None when the codes are not
    factorised.
    """

    rows: np.ndarray
    names: list[str]
    codes: list[str]
    amounts: np.ndarray | None
    currency: str | None = None
    options: dict[str, object] = field(default_factory=dict)
    code_positions: np.ndarray | None = None
    distinct_codes: list[str] | None = None
    records_field: str | None = None

    def __len__(self) -> int:
        return len(self.codes)


def parse_holdings(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> HoldingsTable:
    """Parse a portfolio request body into holdings.

    ``declared`` gives a raw CSV body form fields, as ``read_table`` reads it.

    Raises ``InputError`` listing every bad row (up to ``limits.max_row_errors``),
    ``PayloadTooLarge`` and ``UnsupportedMediaType``.
    """
    table = read_table(
        body,
        content_type,
        limits,
        records_field="holdings",
        numeric=[AMOUNT_ALIASES],
        amount_columns=[AMOUNT_ALIASES],
        fields=[CODE_ALIASES, NAME_ALIASES, CURRENCY_ALIASES],
        declared=declared,
    )
    if len(table.frame) == 0:
        raise InputError(
            "The portfolio has no holdings.",
            [Problem(reason="no holdings", field=_list_field(table))],
        )
    code_column = find_column(table, CODE_ALIASES)
    if code_column is None:
        raise InputError(
            "The portfolio has no code column: name it 'code'.",
            [_missing_column(table, "code")],
        )
    problems: list[Problem] = []

    code_positions, distinct_codes = _clean_codes(table.frame[code_column])
    codes = np.asarray(distinct_codes, dtype=object)[code_positions]
    # Comparing the few distinct codes is much cheaper than comparing every row.
    missing = (np.asarray(distinct_codes, dtype=object) == "")[code_positions]
    if missing.any() and table.source != "json":
        # Rows of spaces look blank in a spreadsheet, so they are dropped too.
        blank = whitespace_rows(table, missing)
        if blank.any():
            table = _without_rows(table, blank)
            codes = codes[~blank]
            code_positions = code_positions[~blank]
            missing = missing[~blank]
        if len(table.frame) == 0:
            raise InputError(
                "The portfolio has no holdings.", [Problem(reason="no holdings")]
            )
    problems += [
        table.problem(row, "code", "missing code") for row in table.rows[missing]
    ]
    name_column = find_column(table, NAME_ALIASES)
    if name_column is None:
        names = [""] * len(codes)
    else:
        # Names are shown back to the user as written, so they are not cleaned.
        names = table.frame[name_column].tolist()

    amount_column = find_column(table, AMOUNT_ALIASES)
    amounts, amount_problems = _read_amounts(table, amount_column)
    problems += amount_problems
    currency, currency_problems = read_currency(table, amount_column)
    problems += currency_problems
    if amount_column is not None and not currency_problems:
        currency, cell_problems = check_amount_currencies(
            table.frame[amount_column], table.rows, "amount", currency
        )
        problems += table.relocate(cell_problems)
    options, option_problems = read_options(table.form_fields.get("options"))
    problems += option_problems
    problems = table.with_read_problems(problems)

    if problems:
        problems.sort(key=_problem_order)
        cap = limits.max_row_errors
        message = f"Problems found in the portfolio: {len(problems)}."
        if len(problems) > cap:
            message += f" The first {cap} are listed (MAX_ROW_ERRORS)."
        raise InputError(message, problems[:cap], truncated=len(problems) > cap)
    return HoldingsTable(
        rows=table.rows,
        names=names,
        codes=codes.tolist(),
        amounts=amounts,
        currency=currency,
        options=options,
        code_positions=code_positions,
        distinct_codes=distinct_codes,
        records_field=_list_field(table),
    )


def natural_capital_template_csv() -> bytes:
    """Return the CSV template for natural-capital uploads (UTF-8 with a BOM).

    The byte order mark makes Excel open the file as UTF-8.
    """
    lines = [",".join(row) for row in TEMPLATE_ROWS]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _without_rows(table: Table, drop: np.ndarray) -> Table:
    return replace(
        table,
        frame=table.frame.loc[~drop].reset_index(drop=True),
        rows=table.rows[~drop],
    )


def _problem_order(problem: Problem) -> tuple[int, int, str]:
    """Order problems by row, or by list index for JSON fields."""
    index = _LIST_INDEX.search(problem.field or "")
    position = int(index.group(1)) if index else -1
    return (problem.row or 0, position, problem.field or "")


def _list_field(table: Table) -> str | None:
    return table.records_field if table.source == "json" else None


def _missing_column(table: Table, name: str) -> Problem:
    if table.source == "json":
        return Problem(reason="missing", field=f"{table.records_field}[].{name}")
    return Problem(reason="missing column", row=1, field=name)


def _clean_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Strip codes and unwrap ``="0111"``, working on distinct codes, which are few.

    Returns each value's index into the cleaned distinct codes, whose last
    entry is "" for blank cells. Two raw codes can clean to the same text.
    """
    positions, distinct = pd.factorize(values.to_numpy(dtype=object))
    cleaned = [_unwrap_formula(code.strip()) for code in distinct] + [""]
    # pandas.factorize gives -1 for a missing cell, which is the "" entry.
    positions[positions < 0] = len(cleaned) - 1
    return positions, cleaned


def _unwrap_formula(code: str) -> str:
    match = _EXCEL_TEXT_FORMULA.fullmatch(code) if code.startswith("=") else None
    return match.group(1) if match else code


def _read_amounts(
    table: Table, column: str | None
) -> tuple[np.ndarray | None, list[Problem]]:
    """Parse the amount column; None when no holding has an amount."""
    if column is None:
        return None, []
    values = table.frame[column]
    amounts, problems = parse_amounts(
        values, table.rows, "amount", decimal=table.decimal
    )
    # A NaN without a problem is a blank cell.
    rejected = np.isin(table.rows, [problem.row for problem in problems])
    blank = np.isnan(amounts) & ~rejected
    problems = table.relocate(problems)

    if blank.all():
        return None, problems
    if blank.any():
        # A mix of holdings with and without amounts cannot be weighted.
        problems += [
            table.problem(
                row, "amount", "missing amount: give every holding an amount, or none"
            )
            for row in table.rows[blank]
        ]
    elif not problems and float(amounts.sum()) <= 0.0:
        problems.append(Problem(reason="the amounts add up to zero", field="amount"))
    return amounts, problems


def read_currency(
    table: Table, amount_column: str | None
) -> tuple[str | None, list[Problem]]:
    """Return the amounts' currency from the form, a column or the amount header."""
    problems: list[Problem] = []
    declared = table.form_fields.get("currency")
    currency = None
    if declared is not None and declared != "":
        currency = parse_currency(declared)
        if currency is None:
            problems.append(
                Problem(
                    reason="invalid currency: expected an ISO 4217 code",
                    field="currency",
                )
            )

    column = find_column(table, CURRENCY_ALIASES)
    if column is not None:
        written = pd.unique(table.frame[column].astype(str).str.strip())
        # Upper case would turn pence (GBp) into pounds (GBP).
        spellings = ("GBX" if is_pence(value) else value.upper() for value in written)
        distinct = [value for value in dict.fromkeys(spellings) if value]
        if len(distinct) > 1 or (currency and distinct and distinct[0] != currency):
            problems.append(
                Problem(
                    reason="every holding must have the same currency", field="currency"
                )
            )
        elif distinct:
            currency = parse_currency(distinct[0])
            if currency is None:
                problems.append(
                    Problem(
                        reason="invalid currency: expected an ISO 4217 code",
                        field="currency",
                    )
                )
    if amount_column is not None and not problems:
        header = table.headers.get(amount_column, amount_column)
        named = _header_currencies(header)
        if _names_pence(header):
            # GBp would otherwise read as GBP, a hundredfold error in totals.
            reason = "the amount header names pence (GBp or GBX): give pounds"
            problems.append(Problem(reason=reason, field="amount"))
        elif named is not None and not named:
            reason = "the amount header names more than one currency"
            problems.append(Problem(reason=reason, field="amount"))
        elif named is not None and currency is not None and currency not in named:
            reason = "the amount header names another currency than the portfolio's"
            problems.append(Problem(reason=reason, field="amount"))
        elif named is not None and currency is None and len(named) == 1:
            currency = next(iter(named))
    return currency, problems


def _names_pence(header: str) -> bool:
    """Tell whether a header names pence sterling (``GBp``, ``GBX``, ``pence``)."""
    words = _HEADER_WORD.findall(header)
    return any(is_pence(word) or word.lower() == "pence" for word in words)


def _header_currencies(header: str) -> frozenset[str] | None:
    """Return the ISO codes an amount header may name, as in ``Amount (EUR)``.

    An ISO 4217 code counts when it is written in capitals, in brackets or as
    the header's last word, so that words like "all" in other headers do not.
    A symbol counts for each code it may stand for (``$`` for USD, CAD and
    more). Other words, such as units (``Weight (PCT)``, ``Amount (MIO)``),
    are not currencies. Returns None when the header names no currency, and
    an empty set when it names currencies that cannot be the same one
    (``Amount (EUR/USD)``, ``Amount (€/$)``).
    """
    words = _HEADER_WORD.findall(header)
    named = [
        frozenset({word.upper()})
        for position, word in enumerate(words)
        if len(word) == 3
        and word.upper() in ISO_4217_CODES
        and (word.isupper() or position == len(words) - 1 or f"({word})" in header)
    ]
    for symbol in re.findall(CURRENCY_SYMBOL_PATTERN, header):
        codes = symbol_codes(symbol)
        if codes:
            named.append(codes)
    if not named:
        return None
    return frozenset.intersection(*named)
