"""Models that only describe request and response bodies in the OpenAPI document.

The dashboard routes read their bodies with the layer's parsers and write
their responses as JSON themselves, and errors are written by the resolver,
so no request needs these models. Routes name them as strings (see
``dashboard_openapi.responses``), and only the generation of the document
imports this module, which keeps their classes out of the cold start.
"""

from typing import Literal

from dashboard_openapi import ApiModel
from dashboard_reference import CodeResolution, ReleaseInfo
from pydantic import ConfigDict, Field

# Errors, as every route returns them.


class ErrorProblem(ApiModel):
    """One thing wrong with the request: where it is and why, never the value."""

    reason: str
    row: int | None = None
    field: str | None = None


class ErrorDetail(ApiModel):
    """The failure: a stable code, a sentence and, for input errors, the problems."""

    code: str
    message: str
    problems: list[ErrorProblem] | None = None
    problems_truncated: bool | None = None
    request_id: str | None = None


class ErrorResponse(ApiModel):
    """The body of every 4xx and 5xx response the function returns."""

    error: ErrorDetail


# The natural capital dashboard's request body, which the layer's parser reads.


class HoldingInput(ApiModel):
    """One holding: an activity code and, optionally, a name and an amount."""

    name: str | None = None
    code: str = Field(
        description=(
            "ENCORE unique code, ISIC Rev.4, NACE Rev.2, EXIOBASE or GICS code."
        )
    )
    amount: float | str | None = Field(
        default=None,
        description="Exposure; a number or text such as '1.234,56 €'.",
    )


class NaturalCapitalOptions(ApiModel):
    """Choices for one dashboard."""

    exclude_water_supply: bool = Field(
        default=False,
        description=(
            "Leave out the Water supply service, which can double count water"
            " flow regulation and water purification."
        ),
    )


class NaturalCapitalRequest(ApiModel):
    """A portfolio sent as JSON."""

    currency: str | None = Field(default=None, description="ISO 4217 code.")
    holdings: list[HoldingInput] = Field(min_length=1)
    options: NaturalCapitalOptions | None = None


class NaturalCapitalUpload(ApiModel):
    """A browser upload: the CSV file and optional fields."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
    currency: str | None = None
    options: str | None = Field(
        default=None, description="The options object as JSON text."
    )


# The natural capital dashboard, one model per part.


class _Closed(ApiModel):
    model_config = ConfigDict(extra="forbid")


class WaterSupplyNote(_Closed):
    """The release's explanatory note on excluding water supply."""

    number: str
    subject: str


class AppliedOptions(_Closed):
    """The options the dashboard was computed with."""

    exclude_water_supply: bool
    water_supply_note: WaterSupplyNote | None


class Totals(_Closed):
    """Holding counts and exposure, all holdings and matched ones."""

    holdings: int
    matched_holdings: int
    exposure: float
    matched_exposure: float


class Headline(_Closed):
    """Shares of matched exposure with any high or very high rating."""

    share_high_dependency: float | None
    share_high_pressure: float | None


class _RatingSummary(_Closed):
    exposure_by_rating: dict[str, float] = Field(
        description="Matched exposure per rating: VH, H, M, L, VL, ND, N/A."
    )
    share_high_or_very_high: float | None
    max_rating: str | None
    mean_score: float | None = Field(description="Mean of VH=5 .. VL=1 by exposure.")


class DependencySummary(_RatingSummary):
    """Exposure by materiality rating of the dependency on one ecosystem service."""

    ecosystem_service: str


class PressureSummary(_RatingSummary):
    """Exposure by materiality rating of one pressure on nature."""

    pressure: str


class HeatmapRow(_Closed):
    """One activity of the portfolio with its ratings, in column order."""

    activity_id: str
    name: str
    exposure: float
    holdings: int
    ratings: list[str]


class Heatmap(_Closed):
    """Activities x services (or pressures), largest exposure first."""

    columns: list[str]
    rows: list[HeatmapRow]


class Heatmaps(_Closed):
    """The dependency and pressure heatmaps."""

    dependencies: Heatmap
    pressures: Heatmap


class HoldingIndex(_Closed):
    """Per holding in input order: its row and its entry in ``resolutions``."""

    row: list[int]
    resolution: list[int]


class UnmatchedHolding(_Closed):
    """A holding left out of the figures, by row and reason."""

    row: int
    field: str
    reason: str | None
    message: str
    resolution: int


class NaturalCapitalDashboard(_Closed):
    """The natural capital dashboard of one portfolio."""

    release: ReleaseInfo
    currency: str | None
    weighting: Literal["amount", "equal"]
    options: AppliedOptions
    totals: Totals
    headline: Headline
    dependencies: list[DependencySummary]
    pressures: list[PressureSummary]
    heatmaps: Heatmaps
    resolutions: list[CodeResolution] = Field(
        description=(
            "One entry per distinct outcome, in order of first appearance:"
            " codes that resolve alike share an entry."
        )
    )
    holdings: HoldingIndex
    unmatched: list[UnmatchedHolding] = Field(
        description=(
            "The first unmatched holdings in input order, at most MAX_ROW_ERRORS."
        )
    )
    unmatched_count: int = Field(description="Number of unmatched holdings.")
    unmatched_truncated: bool = Field(
        description="Whether unmatched lists fewer than unmatched_count holdings."
    )


# The biodiversity dashboards' request bodies.

_CURRENCY = "ISO 4217 code of the amount; every record must give the same one."


class MiningAssetInput(ApiModel):
    """One mining asset. Numbers may be sent as JSON numbers or strings."""

    name: str | None = None
    company: str | None = None
    latitude: float | str = Field(description="Decimal degrees, WGS 84, -90 to 90.")
    longitude: float | str = Field(description="Decimal degrees, WGS 84, -180 to 180.")
    commodity: str | None = None
    status: str | None = Field(None, description="operating, development or closed.")
    amount: float | str | None = Field(None, description="Exposure, zero or more.")
    country: str | None = Field(None, description="ISO 2, ISO 3 or an English name.")
    currency: str | None = Field(None, description=_CURRENCY)


class MiningDashboardRequest(ApiModel):
    """A mining portfolio sent as JSON."""

    currency: str | None = Field(default=None, description="ISO 4217 code.")
    assets: list[MiningAssetInput]


class AgricultureHoldingInput(ApiModel):
    """One agricultural holding: production in tonnes or area in hectares."""

    company: str | None = None
    commodity: str = Field(description="A crop name, e.g. wheat, soybeans, cocoa.")
    country: str = Field(description="ISO 2, ISO 3 or an English name.")
    production_tonnes: float | str | None = None
    area_hectares: float | str | None = None
    amount: float | str | None = Field(None, description="Exposure, zero or more.")
    currency: str | None = Field(None, description=_CURRENCY)


class AgricultureDashboardRequest(ApiModel):
    """An agriculture portfolio sent as JSON."""

    currency: str | None = Field(default=None, description="ISO 4217 code.")
    holdings: list[AgricultureHoldingInput]


class FileUpload(ApiModel):
    """A browser file upload: the CSV file in the field ``file``."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
