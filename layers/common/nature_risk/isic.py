"""ISIC Rev.4 codes: ENCORE's unique-code format and the activity hierarchy index.

ISIC Rev.4 has sections (one letter), divisions (2 digits), groups (3 digits)
and classes (4 digits); each code starts with its parent's digits. ENCORE
writes them as ``<section>_<division>_<group>[_<class>]`` with leading zeros
dropped, e.g. ``A_1_11_111`` is section A, division 01, group 011, class 0111.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

LEVELS = ("section", "division", "group", "class")

# Parts may carry zero padding (A_01_011_0111) as well as ENCORE's own form.
UNIQUE_CODE = re.compile(r"([A-U])_(\d{1,2})_(\d{1,3})(?:_(\d{1,4}))?", re.ASCII)


class IsicCode(NamedTuple):
    """An ISIC Rev.4 code split into its zero-padded levels (None below its level)."""

    section: str | None
    division: str | None = None
    group: str | None = None
    class_: str | None = None

    @property
    def level(self) -> str:
        if self.class_:
            return "class"
        if self.group:
            return "group"
        if self.division:
            return "division"
        return "section"

    @property
    def code(self) -> str:
        """The code at its own level: ``A``, ``01``, ``011`` or ``0111``."""
        return self.class_ or self.group or self.division or self.section or ""

    def unique_code(self) -> str:
        """Return ENCORE's form, e.g. ``A_1_11_111``; needs a section and a group."""
        parts = [self.section or "", str(int(self.division or "0"))]
        parts.append(str(int(self.group or "0")))
        if self.class_:
            parts.append(str(int(self.class_)))
        return "_".join(parts)


def parse_unique_code(text: str) -> IsicCode | None:
    """Parse an ENCORE unique code; None when it is malformed or inconsistent.

    The group must start with the division's digits and the class with the
    group's, after the leading zeros are restored.
    """
    match = UNIQUE_CODE.fullmatch(text)
    if match is None:
        return None
    section, division, group, class_ = match.groups()
    division = division.zfill(2)
    group = group.zfill(3)
    if not group.startswith(division):
        return None
    if class_ is not None:
        class_ = class_.zfill(4)
        if not class_.startswith(group):
            return None
    return IsicCode(section, division, group, class_)


class IsicIndex:
    """Activity positions by ISIC section, division, group and class.

    ``groups`` contains every activity inside a group (its group-level row, or
    its class-level rows); ``group_rows`` contains only rows rated at group level
    without a class code, the rows that contain any class of that group.
    """

    def __init__(self, codes: Iterable[IsicCode]) -> None:
        sections: dict[str, list[int]] = defaultdict(list)
        divisions: dict[str, list[int]] = defaultdict(list)
        groups: dict[str, list[int]] = defaultdict(list)
        group_rows: dict[str, list[int]] = defaultdict(list)
        classes: dict[str, list[int]] = defaultdict(list)
        section_of_division: dict[str, str] = {}
        for index, code in enumerate(codes):
            sections[code.section or ""].append(index)
            divisions[code.division or ""].append(index)
            groups[code.group or ""].append(index)
            section_of_division[code.division or ""] = code.section or ""
            if code.class_:
                classes[code.class_].append(index)
            else:
                group_rows[code.group or ""].append(index)
        self.sections = {key: tuple(value) for key, value in sections.items()}
        self.divisions = {key: tuple(value) for key, value in divisions.items()}
        self.groups = {key: tuple(value) for key, value in groups.items()}
        self.group_rows = {key: tuple(value) for key, value in group_rows.items()}
        self.classes = {key: tuple(value) for key, value in classes.items()}
        self.section_of_division = section_of_division

    def activities(self, code: IsicCode) -> tuple[int, ...]:
        """Return the activities a code covers, or the row that contains it.

        A code coarser than the knowledge base covers every activity below
        it. A class finer than the knowledge base maps to its group's row.
        """
        if code.class_:
            found = self.classes.get(code.class_)
            if found:
                return found
            return self.group_rows.get(code.class_[:3], ())
        if code.group:
            return self.groups.get(code.group, ())
        if code.division:
            return self.divisions.get(code.division, ())
        return self.sections.get(code.section or "", ())

    def section_of(self, code: IsicCode) -> str | None:
        """Return the section letter a division belongs to (None when unknown)."""
        if code.division is None:
            return code.section
        return self.section_of_division.get(code.division)
