"""Records of the ENCORE knowledge base: ratings, activities, services, pressures.

``nature_risk.knowledge_base`` re-exports every name here. The records are
named tuples, for the cold start (see ``nature_risk``).
"""

from typing import NamedTuple

RATINGS: tuple[str, ...] = ("VH", "H", "M", "L", "VL", "ND", "N/A")
"""Materiality ratings, highest first. ND is no data, N/A is no link."""

RATING_INDEX = {rating: position for position, rating in enumerate(RATINGS)}

SCORES: tuple[float | None, ...] = (5.0, 4.0, 3.0, 2.0, 1.0, None, None)
"""Numeric score of each rating in ``RATINGS`` order: VH=5 down to VL=1."""


class Activity(NamedTuple):
    """One ENCORE economic activity (a row of the rating files).

    ``activity_id`` is the code a holding may use to select exactly this row.
    It is the ISIC unique code, unless several rows share that code (the nine
    ``D_35_351`` power rows). Those rows add a colon and the class name in
    lower case with hyphens, e.g. ``D_35_351:solar-energy-production``.
    """

    activity_id: str
    isic_unique_code: str
    section_code: str
    section_name: str
    division_code: str
    division_name: str
    group_code: str
    group_name: str
    class_code: str | None
    class_name: str | None
    level: str
    name: str

    def to_dict(self) -> dict[str, object]:
        """Return the activity as JSON-ready fields."""
        return {
            "activity_id": self.activity_id,
            "isic_unique_code": self.isic_unique_code,
            "name": self.name,
            "level": self.level,
            "section": {"code": self.section_code, "name": self.section_name},
            "division": {"code": self.division_code, "name": self.division_name},
            "group": {"code": self.group_code, "name": self.group_name},
            "class": {"code": self.class_code, "name": self.class_name},
        }


class SubService(NamedTuple):
    """A Level-2 ecosystem service under a rated (Level-1) service."""

    name: str
    definition: str | None


class EcosystemService(NamedTuple):
    """A rated ecosystem service (a column of the dependency ratings file).

    ``definition`` is None when the definitions file defines the service only
    through its Level-2 sub-services.
    """

    name: str
    category: str | None
    definition: str | None
    sub_services: tuple[SubService, ...]


class Pressure(NamedTuple):
    """A rated pressure on nature (a column of the pressure ratings file)."""

    name: str
    definition: str | None


class ExplanatoryNote(NamedTuple):
    """A note from the release's explanatory notes file."""

    number: str
    subject: str
    text: str
