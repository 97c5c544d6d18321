"""Reference data routes: ecosystem services, pressures, activities, release."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from dashboard_openapi import responses
from nature_risk.isic import IsicCode, parse_unique_code
from nature_risk.knowledge_base import Activity, KnowledgeBase, get_knowledge_base
from pydantic import BaseModel, ConfigDict, Field

router = Router()

TAGS = ["Reference data"]
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class SubServiceItem(BaseModel):
    """A Level-2 ecosystem service under a rated service."""

    name: str
    definition: str | None


class EcosystemServiceItem(BaseModel):
    """A rated ecosystem service with its definition."""

    name: str
    category: str | None
    definition: str | None
    sub_services: list[SubServiceItem]


class EcosystemServiceList(BaseModel):
    """Every ecosystem service the release rates."""

    release: str
    count: int
    items: list[EcosystemServiceItem]


class PressureItem(BaseModel):
    """A rated pressure on nature with its definition."""

    name: str
    definition: str | None


class PressureList(BaseModel):
    """Every pressure the release rates."""

    release: str
    count: int
    items: list[PressureItem]


class CodeName(BaseModel):
    """One level of the ISIC hierarchy: its code and name (null below the level)."""

    code: str | None
    name: str | None


class ActivityItem(BaseModel):
    """An ENCORE economic activity with its ISIC Rev.4 hierarchy."""

    model_config = ConfigDict(populate_by_name=True)

    activity_id: str = Field(
        description="The code that selects exactly this activity in a holding."
    )
    isic_unique_code: str
    name: str
    level: str = Field(description="ISIC level the ratings apply to: group or class.")
    section: CodeName
    division: CodeName
    group: CodeName
    class_: CodeName = Field(alias="class")


class ActivityPage(BaseModel):
    """One page of the activities that match a search."""

    release: str
    total: int = Field(description="Number of matching activities on all pages.")
    limit: int
    offset: int
    items: list[ActivityItem]


class ReleaseInfo(BaseModel):
    """The loaded ENCORE release, its licence and the SHA-256 of each file read."""

    name: str
    version: str | None
    name_source: str
    attribution: str
    licence: str
    licence_url: str
    files: dict[str, str]


@router.get(
    "/reference/ecosystem-services",
    summary="List the ecosystem services with their definitions",
    responses=responses(EcosystemServiceList),
    tags=TAGS,
)
def list_ecosystem_services() -> EcosystemServiceList:
    kb = get_knowledge_base()
    items = [
        EcosystemServiceItem(
            name=service.name,
            category=service.category,
            definition=service.definition,
            sub_services=[
                SubServiceItem(name=sub.name, definition=sub.definition)
                for sub in service.sub_services
            ],
        )
        for service in kb.ecosystem_services
    ]
    return EcosystemServiceList(release=kb.release.name, count=len(items), items=items)


@router.get(
    "/reference/pressures",
    summary="List the pressures on nature with their definitions",
    responses=responses(PressureList),
    tags=TAGS,
)
def list_pressures() -> PressureList:
    kb = get_knowledge_base()
    items = [
        PressureItem(name=pressure.name, definition=pressure.definition)
        for pressure in kb.pressures
    ]
    return PressureList(release=kb.release.name, count=len(items), items=items)


@router.get(
    "/reference/economic-activities",
    summary="Search the economic activities by text or ISIC code",
    responses=responses(ActivityPage),
    tags=TAGS,
)
def search_economic_activities(
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Words that must all appear in the activity's names.",
        ),
    ] = None,
    code: Annotated[
        str | None,
        Query(
            max_length=40,
            description=(
                "ISIC Rev.4 code or prefix: a section letter, digits"
                " (01, 011, 0111) or an ENCORE unique code (A_1_11_111)."
            ),
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ActivityPage:
    kb = get_knowledge_base()
    matches = find_activities(kb, text=q, code=code)
    page = matches[offset : offset + limit]
    return ActivityPage(
        release=kb.release.name,
        total=len(matches),
        limit=limit,
        offset=offset,
        items=[ActivityItem.model_validate(activity.to_dict()) for activity in page],
    )


@router.get(
    "/reference/release",
    summary="Show the loaded ENCORE release and its licence",
    responses=responses(ReleaseInfo),
    tags=TAGS,
)
def get_release() -> ReleaseInfo:
    return ReleaseInfo.model_validate(get_knowledge_base().release.to_dict())


def _isic_code(code: str) -> IsicCode | None:
    text = code.strip().upper()
    if "_" in text:
        return parse_unique_code(text)
    if len(text) == 1 and "A" <= text <= "U":
        return IsicCode(section=text)
    digits = text.replace(".", "")
    if digits.isdigit() and 2 <= len(digits) <= 4:
        return IsicCode(
            section=None,
            division=digits[:2],
            group=digits[:3] if len(digits) >= 3 else None,
            class_=digits if len(digits) == 4 else None,
        )
    return None


def _positions_for_code(kb: KnowledgeBase, code: str) -> set[int]:
    if code in kb.activity_index:
        return {kb.activity_index[code]}
    if code in kb.unique_code_index:
        return set(kb.unique_code_index[code])
    isic = _isic_code(code)
    if isic is None:
        return set()
    return set(kb.isic_index.activities(isic))


def _matches_text(activity: Activity, words: list[str]) -> bool:
    names = " ".join(
        name
        for name in (
            activity.name,
            activity.section_name,
            activity.division_name,
            activity.group_name,
            activity.class_name,
        )
        if name
    ).casefold()
    return all(word in names for word in words)


def find_activities(
    kb: KnowledgeBase, *, text: str | None = None, code: str | None = None
) -> list[Activity]:
    """Return the activities whose names contain every word and whose code matches.

    ``code`` is an activity id, an ENCORE unique code, a section letter or
    2 to 4 ISIC digits, and matches every activity the code covers. Without
    ``text`` and ``code`` every activity matches. Results keep release order.
    """
    words = (text or "").casefold().split()
    positions = _positions_for_code(kb, code.strip()) if code else None
    return [
        activity
        for position, activity in enumerate(kb.activities)
        if (positions is None or position in positions)
        and (not words or _matches_text(activity, words))
    ]
