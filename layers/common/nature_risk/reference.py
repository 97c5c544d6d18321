"""Reference data from the knowledge base, as plain JSON-ready dicts and lists.

These back the ``GET /reference/...`` routes: ecosystem services, pressures
(with definitions), economic activities (text and code search) and the release.
"""

from __future__ import annotations

from nature_risk.classification import Classifier
from nature_risk.errors import InputError, Problem
from nature_risk.knowledge_base import RATINGS, KnowledgeBase

MAX_PAGE_SIZE = 500


def list_ecosystem_services(kb: KnowledgeBase) -> list[dict[str, object]]:
    """Return the rated ecosystem services in column order, with definitions."""
    return [
        {
            "name": service.name,
            "category": service.category,
            "definition": service.definition,
            "sub_services": [
                {"name": sub.name, "definition": sub.definition}
                for sub in service.sub_services
            ],
        }
        for service in kb.ecosystem_services
    ]


def list_pressures(kb: KnowledgeBase) -> list[dict[str, object]]:
    """Return the rated pressures in column order, with definitions."""
    return [
        {"name": pressure.name, "definition": pressure.definition}
        for pressure in kb.pressures
    ]


def describe_release(kb: KnowledgeBase) -> dict[str, object]:
    """Return the release name, attribution, licence and file hashes."""
    result = kb.release.to_dict()
    result["activities"] = len(kb.activities)
    result["ecosystem_services"] = len(kb.ecosystem_services)
    result["pressures"] = len(kb.pressures)
    return result


def search_economic_activities(
    kb: KnowledgeBase,
    *,
    query: str | None = None,
    code: str | None = None,
    limit: int = 50,
    offset: int = 0,
    include_ratings: bool = False,
) -> dict[str, object]:
    """Search activities by words in their names and ids, or by a code.

    ``query`` keeps activities whose id or ISIC names contain every word (any
    case). ``code`` resolves a code as a holding's code would be resolved and
    adds that resolution to the result. Both together must both match.
    Raises ``InputError`` when ``limit`` is outside 1..500 or ``offset`` is
    negative.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InputError(
            "The page size is out of range.",
            [Problem(f"must be between 1 and {MAX_PAGE_SIZE}", field="limit")],
        )
    if offset < 0:
        raise InputError(
            "The page offset is out of range.",
            [Problem("must be at least 0", field="offset")],
        )

    positions = list(range(len(kb.activities)))
    result: dict[str, object] = {}
    if code is not None:
        resolution = Classifier(kb).resolve(code)
        result["resolution"] = resolution.to_dict(kb)
        chosen = set(resolution.activities)
        positions = [p for p in positions if p in chosen]
    if query:
        words = query.casefold().split()
        positions = [p for p in positions if _contains_all(kb, p, words)]

    page = positions[offset : offset + limit]
    result["total"] = len(positions)
    result["limit"] = limit
    result["offset"] = offset
    result["items"] = [_activity_dict(kb, p, include_ratings) for p in page]
    return result


def _contains_all(kb: KnowledgeBase, position: int, words: list[str]) -> bool:
    activity = kb.activities[position]
    text = " ".join(
        part
        for part in (
            activity.activity_id,
            activity.section_name,
            activity.division_name,
            activity.group_name,
            activity.class_name or "",
        )
    ).casefold()
    return all(word in text for word in words)


def _activity_dict(
    kb: KnowledgeBase, position: int, include_ratings: bool
) -> dict[str, object]:
    result = kb.activities[position].to_dict()
    if include_ratings:
        result["dependencies"] = {
            service.name: RATINGS[rating]
            for service, rating in zip(
                kb.ecosystem_services,
                kb.dependency_ratings[position].tolist(),
                strict=True,
            )
        }
        result["pressures"] = {
            pressure.name: RATINGS[rating]
            for pressure, rating in zip(
                kb.pressures, kb.pressure_ratings[position].tolist(), strict=True
            )
        }
    return result
