"""Reference data routes: ecosystem services, pressures, activities, release."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Query
from dashboard_openapi import ApiModel, responses
from nature_risk import reference
from nature_risk.knowledge_base import get_knowledge_base
from pydantic import ConfigDict, Field

router = Router()

TAGS = ["Reference data"]
DEFAULT_PAGE_SIZE = 50


class SubServiceItem(ApiModel):
    """A Level-2 ecosystem service under a rated service."""

    name: str
    definition: str | None


class EcosystemServiceItem(ApiModel):
    """A rated ecosystem service with its definition."""

    name: str
    category: str | None
    definition: str | None
    sub_services: list[SubServiceItem]


class EcosystemServiceList(ApiModel):
    """Every ecosystem service the release rates."""

    release: str
    count: int
    items: list[EcosystemServiceItem]


class PressureItem(ApiModel):
    """A rated pressure on nature with its definition."""

    name: str
    definition: str | None


class PressureList(ApiModel):
    """Every pressure the release rates."""

    release: str
    count: int
    items: list[PressureItem]


class CodeName(ApiModel):
    """One level of the ISIC hierarchy: its code and name (null below the level)."""

    code: str | None
    name: str | None


class ActivityItem(ApiModel):
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
    dependencies: dict[str, str] | None = Field(
        default=None,
        description="Rating per ecosystem service, with include_ratings=true.",
    )
    pressures: dict[str, str] | None = Field(
        default=None, description="Rating per pressure, with include_ratings=true."
    )


class CodeReading(ApiModel):
    """One way an ambiguous code can be read."""

    model_config = ConfigDict(extra="forbid")

    scheme: str
    level: str | None
    code: str
    zeros_restored: bool
    activity_count: int


class CodeResolution(ApiModel):
    """The resolution of one code to ENCORE activities, or the reason it failed."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["matched", "ambiguous", "unmatched"]
    method: str | None = None
    code: str | None = None
    zeros_restored: bool | None = None
    decided_by: str | None = None
    activities: list[str] | None = None
    rating_is_max_over_activities: bool | None = None
    reason: str | None = None
    message: str | None = None
    readings: list[CodeReading] | None = None


class ActivityPage(ApiModel):
    """One page of the activities that match a search."""

    release: str
    total: int = Field(description="Number of matching activities on all pages.")
    limit: int
    offset: int
    resolution: CodeResolution | None = Field(
        default=None, description="The resolution of code, when it was given."
    )
    items: list[ActivityItem]


class ReleaseInfo(ApiModel):
    """The loaded ENCORE release, its licence and the SHA-256 of each file read."""

    name: str
    version: str | None
    name_source: str
    attribution: str
    licence: str
    licence_url: str
    files: dict[str, str]


class ReleaseSummary(ReleaseInfo):
    """The loaded release with the number of activities, services and pressures."""

    activities: int
    ecosystem_services: int
    pressures: int


def _require_ascii_integers(*names: str) -> None:
    """Reject query values that pydantic's int parsing stretches to a number.

    pydantic reads ``4_5`` as 45 and strips spaces, and ``int()`` reads
    non-ASCII digits, so the raw values must be ASCII digits. Raises the
    validation error that the resolver turns into a 422, as for any invalid
    value.
    """
    errors = []
    for name in names:
        raw = router.current_event.get_query_string_value(name)
        if raw is not None and not (raw.isascii() and raw.isdecimal()):
            errors.append({"loc": ("query", name), "type": "int_parsing"})
    if errors:
        raise RequestValidationError(errors)


@router.get(
    "/reference/ecosystem-services",
    summary="List the ecosystem services with their definitions",
    tags=TAGS,
    responses=responses(EcosystemServiceList),
)
def list_ecosystem_services() -> EcosystemServiceList:
    kb = get_knowledge_base()
    items = reference.list_ecosystem_services(kb)
    return EcosystemServiceList.model_validate(
        {"release": kb.release.name, "count": len(items), "items": items}
    )


@router.get(
    "/reference/pressures",
    summary="List the pressures on nature with their definitions",
    tags=TAGS,
    responses=responses(PressureList),
)
def list_pressures() -> PressureList:
    kb = get_knowledge_base()
    items = reference.list_pressures(kb)
    return PressureList.model_validate(
        {"release": kb.release.name, "count": len(items), "items": items}
    )


@router.get(
    "/reference/economic-activities",
    summary="Search the economic activities by text or code",
    description=(
        "Without q and code, pages through every activity. A code is resolved"
        " as a holding's code would be, and the resolution is returned."
    ),
    tags=TAGS,
    # 503: a GICS code when the release's GICS workbook is invalid.
    responses=responses(ActivityPage, 503),
)
def search_economic_activities(
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Words that must all appear in the activity's id or names.",
        ),
    ] = None,
    code: Annotated[
        str | None,
        Query(
            max_length=40,
            description=(
                "ENCORE unique code, ISIC Rev.4, NACE Rev.2, EXIOBASE or GICS code,"
                " e.g. A_1_11_111, 0111 or 01.11."
            ),
        ),
    ] = None,
    include_ratings: Annotated[
        bool, Query(description="Add each activity's ratings to the items.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=reference.MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ActivityPage:
    _require_ascii_integers("limit", "offset")
    kb = get_knowledge_base()
    page = reference.search_economic_activities(
        kb,
        query=q,
        code=code,
        limit=limit,
        offset=offset,
        include_ratings=include_ratings,
    )
    return ActivityPage.model_validate({"release": kb.release.name, **page})


@router.get(
    "/reference/release",
    summary="Show the loaded ENCORE release and its licence",
    tags=TAGS,
    responses=responses(ReleaseSummary),
)
def get_release() -> ReleaseSummary:
    return ReleaseSummary.model_validate(
        reference.describe_release(get_knowledge_base())
    )
