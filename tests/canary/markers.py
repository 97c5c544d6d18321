"""Unique markers for user-controlled strings, and the search for their traces.

A marker alternates two letters from ``J K Q V W X Z`` with one digit from
``2-9``. None of those letters is a hex digit, and English words and file
paths almost never have four of these characters in a row. So a
four-character piece of a marker in captured output (compared
case-insensitively) comes from the input, not from a uuid, a timestamp or a
module path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MARKER_LETTERS = "JKQVWXZ"
MARKER_DIGITS = "23456789"
MIN_PIECE = 4

# Clock and counter values the logger writes as numbers or fixed formats. The
# formatter type-checks them, so they cannot carry text. They are blanked
# before the search because a digit run in them may match a marker's digits.
_GENERATED_VALUES = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?"
    r'|"(duration_ms|line|Timestamp|latency_ms)":\s*-?\d+(\.\d+)?'
    r'|"Duration":\[[0-9.,e+-]*\]'
)


def _marker_number(index: int) -> str:
    letters = MARKER_LETTERS
    digits = MARKER_DIGITS
    out = []
    value = index
    for position in range(9):
        if position % 3 == 2:
            out.append(digits[value % len(digits)])
            value //= len(digits)
        else:
            out.append(letters[value % len(letters)])
            value //= len(letters)
    return "".join(out)


def marker_for(number: int) -> str:
    """Return the marker of ``number``; different numbers below 60 million differ."""
    return "Q" + _marker_number(number * 104_729)


@dataclass
class Markers:
    """A source of unique markers, each remembered so a search can find it later."""

    issued: list[str] = field(default_factory=list)
    # Values a test prepared before the case, such as a saved portfolio's id.
    context: dict[str, str] = field(default_factory=dict)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(7919))

    def new(self, prefix: str = "") -> str:
        """Return a new marker, optionally after ``prefix`` (kept out of the search)."""
        marker = marker_for(next(self._counter))
        self.issued.append(marker)
        return f"{prefix}{marker}"

    def add(self, marker: str) -> str:
        """Remember a marker built elsewhere (a generated one, for instance)."""
        self.issued.append(marker)
        return marker


def pieces(marker: str, minimum: int = MIN_PIECE) -> Iterable[str]:
    """Yield every substring of ``marker`` at least ``minimum`` characters long."""
    for start in range(len(marker)):
        for end in range(start + minimum, len(marker) + 1):
            yield marker[start:end]


def blank_generated_values(text: str) -> str:
    """Replace timestamps, durations and line numbers by a space each."""
    return _GENERATED_VALUES.sub(" ", text)


def find_leaks(text: str, markers: Iterable[str]) -> list[str]:
    """Return each marker piece of four characters or more found in ``text``."""
    haystack = blank_generated_values(text).casefold()
    found = []
    for marker in markers:
        for piece in pieces(marker):
            if piece.casefold() in haystack:
                found.append(piece)
                break
    return found


def leak_report(text: str, leaks: list[str], width: int = 80) -> str:
    """Show where each leaked piece sits in ``text``, for an assertion message."""
    lines = []
    folded = text.casefold()
    for piece in leaks:
        at = folded.find(piece.casefold())
        start = max(0, at - width)
        lines.append(f"{piece!r} in ...{text[start : at + len(piece) + width]!r}...")
    return "\n".join(lines)
