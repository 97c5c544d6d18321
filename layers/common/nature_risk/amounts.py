"""Parse money amounts the way spreadsheets and people write them.

Accepted: plain numbers (``1234.56``, ``1e6``), decimal commas (``1234,56``),
thousands separators (``1,234.56``, ``1.234,56``, ``1 234,56``, ``1'234.56``),
a currency symbol or a three-letter code before or after the number
(``€ 1.234,56``, ``1234 EUR``, ``US$1,000``) and a lone dash, which accounting
formats write for zero. Blank cells give NaN without a problem.

Rejected with a reason: negative amounts (``-5``, ``(5)``, ``5-``), values
that are not finite, and anything else that is not a number.

A value with a single separator followed by exactly three digits (``1,234``
or ``1.234``) is ambiguous. It is read the way the other values of the same
column use their separators. When they give no evidence, the table's decimal
separator decides, which is "," for semicolon-separated files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nature_risk.errors import Problem

# Active ISO 4217 currency codes, including precious metals and the codes of
# currencies in transition (ANG and XCG, SLL and SLE, ZWL and ZWG).
# NOTE: typed from the ISO 4217 list of 2025; a code added later is rejected.
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

_SYMBOLS = "€$£¥₹₽₩₺₪₫¢"
# A currency symbol, optionally after up to three letters (US$, R$), or a
# three-letter code such as EUR.
_CURRENCY = rf"(?:[A-Za-z]{{0,3}}[{_SYMBOLS}]|[A-Za-z]{{3}})"
# Applied once whitespace is removed. The groups mark the ways to write a
# negative amount: a sign, parentheses or a trailing minus.
_AMOUNT = (
    rf"^(?P<open>\()?(?P<sign>[-−+])?(?:{_CURRENCY})?(?P<sign_after>[-−+])?"
    rf"(?P<number>[\d.,]*\d[\d.,]*|[\d.,]*[.,]\d*)"
    rf"(?:{_CURRENCY})?(?P<trailing>-)?(?P<close>\))?$"
)
_DASH = rf"^\(?(?:{_CURRENCY})?[-–—](?:{_CURRENCY})?\)?$"
# Spaces, no-break spaces, thin spaces and apostrophes group thousands.
_GROUP_CHARS = r"[\s\u00a0\u202f\u2009'’]"
# A group character between digits must be followed by exactly three digits,
# so ``12 34`` is rejected while ``1234 EUR`` is not.
_BAD_GROUP = rf"\d{_GROUP_CHARS}+(?=\d)(?!\d{{3}}(?:\D|$))"
_CANONICAL = r"\d+(?:\.\d*)?|\.\d+"


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

    text = series.astype(str).reset_index(drop=True)
    # Fast path: plain numbers, parsed by pandas in one call.
    amounts = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    parsed = ~np.isnan(amounts)
    if decimal == ",":
        # In decimal-comma files, 1.234 means 1234 and needs the slow path.
        parsed &= ~text.str.contains(".", regex=False).to_numpy(dtype=bool)
    needs_cleaning = ~parsed
    if needs_cleaning.any():
        blank = text.str.strip().to_numpy() == ""
        needs_cleaning &= ~blank
        amounts[~parsed] = np.nan
    invalid = np.zeros(len(text), dtype=bool)
    negative = np.zeros(len(text), dtype=bool)
    if needs_cleaning.any():
        positions = np.flatnonzero(needs_cleaning)
        cleaned, bad, minus = _clean(text.iloc[positions], text[parsed], decimal)
        amounts[positions] = cleaned
        invalid[positions] = bad
        negative[positions] = minus

    problems = [Problem(REASON_INVALID, int(row), field) for row in rows[invalid]]
    problems += [Problem(REASON_NEGATIVE, int(row), field) for row in rows[negative]]
    amounts[invalid | negative] = np.nan
    problems += _check_range(amounts, rows, field)
    problems.sort(key=lambda problem: problem.row or 0)
    return amounts, problems


def _check_range(amounts: np.ndarray, rows: np.ndarray, field: str) -> list[Problem]:
    """List negative and infinite amounts, then set them to NaN."""
    with np.errstate(invalid="ignore"):
        negative = amounts < 0
    infinite = np.isinf(amounts)
    problems = [Problem(REASON_NEGATIVE, int(row), field) for row in rows[negative]]
    problems += [Problem(REASON_NOT_FINITE, int(row), field) for row in rows[infinite]]
    amounts[negative | infinite] = np.nan
    return problems


def _clean(
    text: pd.Series, plain: pd.Series, decimal: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse written-out amounts; return values, invalid flags and negative flags.

    ``plain`` holds the column's values that parsed on the fast path. They
    count as evidence of the decimal separator for ambiguous values.
    """
    text = text.str.strip()
    bad_grouping = text.str.contains(_BAD_GROUP, regex=True).to_numpy(dtype=bool)
    compact = text.str.replace(_GROUP_CHARS, "", regex=True)
    dash = compact.str.fullmatch(_DASH).to_numpy(dtype=bool)
    parts = compact.str.extract(_AMOUNT)
    matched = parts["number"].notna().to_numpy() & ~bad_grouping
    negative = matched & (
        parts["sign"].isin(["-", "−"]).to_numpy()
        | parts["sign_after"].isin(["-", "−"]).to_numpy()
        | parts["trailing"].notna().to_numpy()
        | (parts["open"].notna() & parts["close"].notna()).to_numpy()
    )
    unbalanced = parts["open"].notna().to_numpy() != parts["close"].notna().to_numpy()
    number = parts["number"].fillna("")

    canonical, unresolved = _canonical_numbers(number, plain, decimal)
    values = pd.to_numeric(canonical, errors="coerce").to_numpy(
        dtype=np.float64, copy=True
    )
    well_formed = canonical.str.fullmatch(_CANONICAL).to_numpy(dtype=bool)
    invalid = ~matched | unbalanced | unresolved | ~well_formed | np.isnan(values)

    values[dash] = 0.0
    invalid[dash] = False
    negative[dash] = False
    negative &= ~invalid
    return values, invalid, negative


def _canonical_numbers(
    number: pd.Series, plain: pd.Series, decimal: str
) -> tuple[pd.Series, np.ndarray]:
    """Rewrite ``1.234,56``-style numbers as ``1234.56``; flag invalid grouping."""
    dots = number.str.count(r"\.").to_numpy()
    commas = number.str.count(",").to_numpy()
    last_dot = number.str.rfind(".").to_numpy()
    last_comma = number.str.rfind(",").to_numpy()
    length = number.str.len().to_numpy()

    # decimal_sep and thousands_sep per value: "." , "," or "" for none.
    decimal_sep = np.full(len(number), "", dtype=object)
    thousands_sep = np.full(len(number), "", dtype=object)
    both = (dots > 0) & (commas > 0)
    dot_last = last_dot > last_comma
    decimal_sep[both & dot_last] = "."
    thousands_sep[both & dot_last] = ","
    decimal_sep[both & ~dot_last] = ","
    thousands_sep[both & ~dot_last] = "."

    ambiguous = np.zeros(len(number), dtype=bool)
    for separator, count, last in ((",", commas, last_comma), (".", dots, last_dot)):
        only = (count > 0) & ~both
        thousands_sep[only & (count > 1)] = separator
        single = only & (count == 1)
        three_after = (length - last - 1) == 3
        decimal_sep[single & ~three_after] = separator
        ambiguous |= single & three_after

    if ambiguous.any():
        chosen = _column_decimal(decimal_sep, thousands_sep, plain, decimal)
        separator_of = np.where(dots > 0, ".", ",")
        is_decimal = ambiguous & (separator_of == chosen)
        decimal_sep[is_decimal] = separator_of[is_decimal]
        thousands_sep[ambiguous & ~is_decimal] = separator_of[ambiguous & ~is_decimal]

    unresolved = np.zeros(len(number), dtype=bool)
    for thousands in (",", "."):
        grouped = thousands_sep == thousands
        if not grouped.any():
            continue
        other = "." if thousands == "," else ","
        pattern = rf"\d{{1,3}}(?:\{thousands}\d{{3}})+(?:\{other}\d*)?"
        valid = number.str.fullmatch(pattern).to_numpy(dtype=bool)
        unresolved |= grouped & ~valid
    # A decimal separator may appear once.
    unresolved |= (decimal_sep == ".") & (dots > 1)
    unresolved |= (decimal_sep == ",") & (commas > 1)

    canonical = number.copy()
    for thousands in (",", "."):
        grouped = thousands_sep == thousands
        if grouped.any():
            canonical[grouped] = canonical[grouped].str.replace(thousands, "")
    comma_decimal = decimal_sep == ","
    if comma_decimal.any():
        canonical[comma_decimal] = canonical[comma_decimal].str.replace(",", ".")
    return canonical, unresolved


def _column_decimal(
    decimal_sep: np.ndarray, thousands_sep: np.ndarray, plain: pd.Series, default: str
) -> str:
    """Return the decimal separator the column's unambiguous values use."""
    comma = bool(np.any(decimal_sep == ",") or np.any(thousands_sep == "."))
    dot = bool(np.any(decimal_sep == ".") or np.any(thousands_sep == ","))
    if not dot and len(plain):
        # A fast-path value like 12.5 shows that "." is the decimal separator.
        dot = bool(plain.str.contains(r"\.(?:\d{1,2}|\d{4,})$", regex=True).any())
    if comma and not dot:
        return ","
    if dot and not comma:
        return "."
    return default


def parse_currency(value: object) -> str | None:
    """Return the ISO 4217 code ``value`` spells (any case), or None if invalid."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in ISO_4217_CODES else None
