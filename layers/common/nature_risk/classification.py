"""Resolve holdings' activity codes to ENCORE activities and record the method.

Accepted forms (case and spaces ignored):

- ENCORE unique codes, ``A_1_11_111`` or zero-padded ``A_01_011_0111``, and
  activity ids such as ``D_35_351:solar-energy-production``;
- ISIC Rev.4 sections (``A``), divisions, groups and classes, with or without
  the section letter, also as spreadsheets leave them (``111``, ``111.0``);
- NACE Rev.2 classes and groups (``01.11``, ``A01.11``, zero-stripped
  ``1.11``), through the EXIOBASE-NACE-ISIC crosswalk;
- EXIOBASE sector names, through the same crosswalk;
- 8-digit GICS sub-industry codes, through the GICS crosswalk.

A code that lost its leading zeros can have several readings (``141`` is ISIC
group 141, or class 0141 without its zero). When the readings lead to
different activities, the rest of the column decides if it can: a column that
elsewhere keeps leading zeros is read as written, and a column whose other
codes are all at one level picks the reading at that level. Otherwise the code
is reported as ambiguous with every reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from nature_risk.encore_files import clean_text
from nature_risk.isic import IsicCode, parse_unique_code
from nature_risk.knowledge_base import KnowledgeBase

MATCHED = "matched"
AMBIGUOUS = "ambiguous"
UNMATCHED = "unmatched"

# Reasons a code resolves to no activity; fixed text, never the code itself.
REASONS = {
    "missing_code": "The activity code is empty.",
    "unrecognised_code": "The activity code is not in a supported format.",
    "not_in_knowledge_base": "No ENCORE activity matches the activity code.",
    "ambiguous_code": "The activity code has several readings that lead to "
    "different activities; write it with its leading zeros or section letter.",
    "no_crosswalk": "The release has no crosswalk for this kind of code.",
}

_ACTIVITY_ID = re.compile(r"[A-U]_\d[\d_]*:[A-Z0-9-]+", re.ASCII)
_GICS = re.compile(r"(\d{8})(?:\.0+)?", re.ASCII)
_FLOAT = re.compile(r"([A-U]?)(\d{1,4})\.0", re.ASCII)
_NACE = re.compile(r"([A-U]?)(\d{1,2})\.(\d{1,2})", re.ASCII)
_DIGITS = re.compile(r"([A-U]?)(\d{1,4})", re.ASCII)
_SECTION = re.compile(r"[A-U]", re.ASCII)
# A code as a decimal-comma spreadsheet shows a number (1,11 or 111,0).
_DECIMAL_COMMA = re.compile(r"[A-U]?\d+,\d+", re.ASCII)


class Reading(NamedTuple):
    """One interpretation of a code: its scheme, level, canonical code, activities.

    ``zeros_restored`` is True when the reading adds zeros the text lacks.
    """

    scheme: str
    level: str
    code: str
    activities: tuple[int, ...]
    zeros_restored: bool = False

    def to_dict(self) -> dict[str, object]:
        """Return the reading as JSON-ready fields, with the canonical code."""
        return {
            "scheme": self.scheme,
            "level": self.level,
            "code": self.code,
            "zeros_restored": self.zeros_restored,
            "activity_count": len(self.activities),
        }


class Resolution(NamedTuple):
    """The outcome of resolving one distinct code.

    ``status`` is ``matched``, ``ambiguous`` or ``unmatched``. A match carries
    the activity positions (into ``KnowledgeBase.activities``), the scheme
    (``encore``, ``isic``, ``nace``, ``exiobase``, ``gics``), the level, the
    canonical code and ``decided_by``: ``only_reading``, ``same_activities``
    (every reading gives the same activities), ``column_zeros_kept`` or
    ``column_zeros_lost``. Ambiguous and unmatched codes carry a ``reason`` key of
    ``REASONS``; ambiguous ones also carry their ``readings``.
    """

    status: str
    activities: tuple[int, ...] = ()
    scheme: str | None = None
    level: str | None = None
    code: str | None = None
    zeros_restored: bool = False
    decided_by: str | None = None
    readings: tuple[Reading, ...] = ()
    reason: str | None = None

    @property
    def matched(self) -> bool:
        return self.status == MATCHED

    @property
    def method(self) -> str | None:
        """The resolution method, e.g. ``isic_class`` or ``nace_class``."""
        if self.scheme is None:
            return None
        return f"{self.scheme}_{self.level}"

    def to_dict(
        self, kb: KnowledgeBase, *, include_message: bool = True
    ) -> dict[str, object]:
        """Return the resolution as JSON-ready fields, with activity ids.

        ``include_message=False`` leaves out the reason's text, for callers
        that list ``REASONS`` once instead.
        """
        if self.matched:
            return {
                "status": self.status,
                "method": self.method,
                "code": self.code,
                "zeros_restored": self.zeros_restored,
                "decided_by": self.decided_by,
                "activities": [kb.activities[i].activity_id for i in self.activities],
            }
        result: dict[str, object] = {"status": self.status, "reason": self.reason}
        if include_message:
            result["message"] = REASONS[self.reason or "unrecognised_code"]
        if self.readings:
            result["readings"] = [reading.to_dict() for reading in self.readings]
        return result


@dataclass(slots=True)
class _Candidates:
    readings: list[Reading]
    zeros_kept: bool = False
    zeros_lost: bool = False
    failure: str | None = None


class Classifier:
    """Resolves activity codes against one knowledge base.

    Cheap to create; build one per request. ``resolve_column`` is the entry
    point for a portfolio because a column's other codes help read a code
    that lost its zeros.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._index = kb.isic_index
        self._known_classes = set(self._index.classes) | kb.crosswalks.isic_classes
        self._activity_ids = {
            key.casefold(): value for key, value in kb.activity_index.items()
        }

    def resolve(self, code: str) -> Resolution:
        """Resolve one code on its own, without a column as context."""
        return self.resolve_column([code])[code]

    def resolve_column(self, codes: Sequence[str]) -> dict[str, Resolution]:
        """Resolve each distinct code of a column, using the column as context."""
        candidates = {raw: self._candidates(raw) for raw in dict.fromkeys(codes)}
        zeros_kept = any(found.zeros_kept for found in candidates.values())
        zeros_lost = any(found.zeros_lost for found in candidates.values())

        results: dict[str, Resolution] = {}
        undecided: list[str] = []
        levels: set[tuple[str, str]] = set()
        for raw, found in candidates.items():
            resolution = self._decide_alone(found)
            if resolution is None:
                undecided.append(raw)
                continue
            results[raw] = resolution
            if resolution.matched and resolution.scheme in ("isic", "nace"):
                levels.add((resolution.scheme, resolution.level or ""))

        for raw in undecided:
            results[raw] = self._decide_in_column(
                candidates[raw].readings, zeros_kept, zeros_lost, levels
            )
        return results

    # --- deciding ---------------------------------------------------------------

    def _decide_alone(self, found: _Candidates) -> Resolution | None:
        """Resolve a code by itself; None when its readings disagree."""
        if found.failure:
            return _UNMATCHED[found.failure]
        readings = found.readings
        if not readings:
            return _UNMATCHED["not_in_knowledge_base"]
        if len({reading.activities for reading in readings}) > 1:
            return None
        decided_by = "only_reading" if len(readings) == 1 else "same_activities"
        return _matched(_preferred(readings), decided_by)

    def _decide_in_column(
        self,
        readings: list[Reading],
        zeros_kept: bool,
        zeros_lost: bool,
        levels: set[tuple[str, str]],
    ) -> Resolution:
        """Resolve a code whose readings disagree by how the column was written.

        A column that keeps zeros gives the reading as written. A column that
        lost zeros, with every other code at one level, gives the reading at
        that level with its zeros restored. A column that shows neither, or
        both, leaves the code ambiguous.
        """
        if zeros_kept and not zeros_lost:
            as_written = [r for r in readings if not r.zeros_restored]
            if as_written and len({r.activities for r in as_written}) == 1:
                return _matched(_preferred(as_written), "column_zeros_kept")
        if zeros_lost and not zeros_kept and len(levels) == 1:
            scheme, level = next(iter(levels))
            restored = [
                r
                for r in readings
                if r.zeros_restored and (r.scheme, r.level) == (scheme, level)
            ]
            if restored and len({r.activities for r in restored}) == 1:
                return _matched(_preferred(restored), "column_zeros_lost")
        return Resolution(AMBIGUOUS, readings=tuple(readings), reason="ambiguous_code")

    # --- reading ----------------------------------------------------------------

    def _candidates(self, raw: str) -> _Candidates:
        text = clean_text(raw)
        compact = text.replace(" ", "").upper()
        if _DECIMAL_COMMA.fullmatch(compact):
            compact = compact.replace(",", ".")
        if not compact:
            return _Candidates([], failure="missing_code")
        first = compact[0]
        second = compact[1:2]
        code_like = first.isdigit() or (
            "A" <= first <= "U" and (second == "" or second.isdigit() or second == "_")
        )
        if not code_like:
            # Only EXIOBASE sector names start otherwise; skip the code patterns.
            return self._exiobase(text)
        if _ACTIVITY_ID.fullmatch(compact):
            return self._activity_id(compact)
        if "_" in compact:
            return self._unique_code(compact)
        match = _GICS.fullmatch(compact)
        if match:
            return self._gics(match.group(1))

        found = _Candidates([])
        if (match := _FLOAT.fullmatch(compact)) is not None:
            # Excel shows a number stored as text like this: zeros were lost.
            self._isic_digits(found, match.group(1), match.group(2))
            found.zeros_lost = True
        elif (match := _DIGITS.fullmatch(compact)) is not None:
            self._isic_digits(found, match.group(1), match.group(2))
            digits = match.group(2)
            found.zeros_kept = len(digits) > 1 and digits.startswith("0")
            return self._with_zero_evidence(found)
        elif _SECTION.fullmatch(compact):
            positions = self._index.sections.get(compact, ())
            if positions:
                found.readings.append(Reading("isic", "section", compact, positions))
            return found
        if (match := _NACE.fullmatch(compact)) is not None:
            failure = self._nace(found, *match.groups())
            if failure and not found.readings:
                found.failure = failure
            return self._with_zero_evidence(found)
        if _FLOAT.fullmatch(compact):
            return self._with_zero_evidence(found)
        return self._exiobase(text)

    def _with_zero_evidence(self, found: _Candidates) -> _Candidates:
        """Record that zeros were lost when every reading had to restore them."""
        if found.readings and all(r.zeros_restored for r in found.readings):
            found.zeros_lost = True
        return found

    def _activity_id(self, compact: str) -> _Candidates:
        position = self._activity_ids.get(compact.casefold())
        if position is None:
            return _Candidates([], failure="not_in_knowledge_base")
        activity_id = self.kb.activities[position].activity_id
        return _Candidates([Reading("encore", "activity", activity_id, (position,))])

    def _unique_code(self, compact: str) -> _Candidates:
        code = parse_unique_code(compact)
        if code is None:
            return _Candidates([], failure="unrecognised_code")
        unique = code.unique_code()
        positions = self.kb.unique_code_index.get(unique)
        if positions is None:
            positions = self._index.activities(code)
        if not positions:
            return _Candidates([])
        return _Candidates([Reading("encore", code.level, unique, positions)])

    def _gics(self, digits: str) -> _Candidates:
        if not self.kb.crosswalks.has_gics:
            return _Candidates([], failure="no_crosswalk")
        positions = self.kb.crosswalks.gics().get(digits, ())
        if not positions:
            return _Candidates([])
        return _Candidates([Reading("gics", "sub_industry", digits, positions)])

    def _isic_digits(self, found: _Candidates, letter: str, digits: str) -> None:
        """Add every valid ISIC reading of a digit string (leading zeros maybe lost)."""
        options: list[tuple[str, str, bool]] = []
        if len(digits) == 1:
            options.append(("division", digits.zfill(2), True))
        elif len(digits) == 2:
            options += [("division", digits, False), ("group", "0" + digits, True)]
        elif len(digits) == 3:
            options += [("group", digits, False), ("class", "0" + digits, True)]
        else:
            options.append(("class", digits, False))
        for level, code_text, restored in options:
            code = self._isic_code(level, code_text)
            if code is None:
                continue
            if letter and self._index.section_of(code) != letter:
                continue
            positions = self._index.activities(code)
            if positions:
                found.readings.append(
                    Reading("isic", level, code_text, positions, restored)
                )

    def _isic_code(self, level: str, text: str) -> IsicCode | None:
        """Build a code at ``level`` if ISIC Rev.4 has it, else None."""
        division = text[:2]
        section = self._index.section_of_division.get(division)
        if section is None:
            return None
        if level == "division":
            return IsicCode(section, division)
        if level == "group":
            if text not in self._index.groups:
                return None
            return IsicCode(section, division, text)
        known = text in self._known_classes or (
            not self.kb.crosswalks.isic_classes and text[:3] in self._index.groups
        )
        return IsicCode(section, division, text[:3], text) if known else None

    def _nace(
        self, found: _Candidates, letter: str, division: str, fraction: str
    ) -> str | None:
        """Add the NACE readings of ``DD.DD``-like text; return a failure reason."""
        crosswalks = self.kb.crosswalks
        if not crosswalks.nace:
            return "no_crosswalk"
        restored = len(division) == 1
        division = division.zfill(2)
        if letter and self._index.section_of_division.get(division) != letter:
            return "not_in_knowledge_base"
        if division.startswith("0") and not restored:
            found.zeros_kept = True
        if len(fraction) == 2 and fraction.endswith("0"):
            found.zeros_kept = True
        if restored:
            found.zeros_lost = True
        options: list[tuple[str, str, bool]] = []
        if len(fraction) == 2:
            options.append(("class", f"{division}.{fraction}", restored))
        else:
            options.append(("group", f"{division}.{fraction}", restored))
            options.append(("class", f"{division}.{fraction}0", True))
        for level, code, zeros_restored in options:
            table = crosswalks.nace if level == "class" else crosswalks.nace_groups
            positions = table.get(code, ())
            if positions:
                found.readings.append(
                    Reading("nace", level, code, positions, zeros_restored)
                )
        return None

    def _exiobase(self, text: str) -> _Candidates:
        crosswalks = self.kb.crosswalks
        # ``text`` is already cleaned, so only the case is left to fold.
        entry = crosswalks.exiobase.get(text.casefold())
        if entry is None:
            if not crosswalks.exiobase:
                return _Candidates([], failure="no_crosswalk")
            return _Candidates([], failure="unrecognised_code")
        name, positions = entry
        if not positions:
            return _Candidates([])
        return _Candidates([Reading("exiobase", "sector", name, positions)])


# Unmatched resolutions carry only a reason, so one instance per reason is
# shared, where a portfolio of junk codes would otherwise create one per
# distinct code.
_UNMATCHED = {reason: Resolution(UNMATCHED, reason=reason) for reason in REASONS}


def _preferred(readings: list[Reading]) -> Reading:
    """Prefer the reading that takes the text as written."""
    for reading in readings:
        if not reading.zeros_restored:
            return reading
    return readings[0]


def _matched(reading: Reading, decided_by: str) -> Resolution:
    return Resolution(
        MATCHED,
        activities=reading.activities,
        scheme=reading.scheme,
        level=reading.level,
        code=reading.code,
        zeros_restored=reading.zeros_restored,
        decided_by=decided_by,
    )
