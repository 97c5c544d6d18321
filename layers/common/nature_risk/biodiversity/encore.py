"""ENCORE activity of an ISIC class: the class row if ENCORE rates it, else its group.

ENCORE rates some activities at ISIC class level (annual crops, 011x) and
others only at group level (perennial crops, group 012), so a class such as
0127 (beverage crops) takes the ratings of its group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nature_risk.knowledge_base import KnowledgeBase

# Ratings shown as an activity's main dependencies and pressures.
MAIN_RATINGS = ("VH", "H")


def encore_activity(kb: KnowledgeBase, isic_class: str) -> dict[str, object] | None:
    """Return the ENCORE activity for a 4-digit ISIC class with its main ratings."""
    position = None
    for index, activity in enumerate(kb.activities):
        if activity.level == "class" and activity.class_code == isic_class:
            position = index
            break
    if position is None:
        for index, activity in enumerate(kb.activities):
            if activity.level == "group" and activity.group_code == isic_class[:3]:
                position = index
                break
    if position is None:
        return None
    activity = kb.activities[position]
    return {
        "activity_id": activity.activity_id,
        "name": activity.name,
        "level": activity.level,
        "main_dependencies": _main(
            kb.dependency_ratings[position], [s.name for s in kb.ecosystem_services]
        ),
        "main_pressures": _main(
            kb.pressure_ratings[position], [p.name for p in kb.pressures]
        ),
    }


def _main(ratings: np.ndarray, names: list[str]) -> list[dict[str, str]]:
    """Return the entries rated VH or H, highest first."""
    from nature_risk.knowledge_base import RATINGS

    wanted = [RATINGS.index(rating) for rating in MAIN_RATINGS]
    found = [
        (int(rating), name)
        for rating, name in zip(ratings.tolist(), names, strict=True)
        if rating in wanted
    ]
    found.sort(key=lambda pair: pair[0])
    return [{"name": name, "rating": RATINGS[rating]} for rating, name in found]
