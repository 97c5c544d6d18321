"""The natural capital dashboard route and its CSV template.

``POST /dashboards/natural-capital`` takes a portfolio as JSON, CSV or a
browser upload and returns the exposure by ENCORE materiality rating for
every ecosystem service and pressure. The request and response models below
document the API; the layer's parser and dashboard code do the work.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

import orjson
from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from dashboard_openapi import ApiModel, UploadBody, document_upload, responses
from dashboard_reference import CodeResolution, ReleaseInfo
from dashboard_templates import register_template
from dashboard_uploads import read_upload
from nature_risk.config import InputLimits
from nature_risk.knowledge_base import get_knowledge_base
from nature_risk.natural_capital import DashboardOptions, build_dashboard
from nature_risk.portfolio_input import natural_capital_template_csv, parse_holdings
from pydantic import ConfigDict, Field

router = Router()

PATH = "/dashboards/natural-capital"
TAGS = ["Natural capital"]


# Request models: they document the body, which the layer's parser validates.


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


# Response models, one per part of the dashboard.


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


def dashboard_options(
    body_options: Mapping[str, object], exclude_water_supply: bool | None
) -> DashboardOptions:
    """Combine the body's options with the query string's, which take precedence."""
    options = DashboardOptions.from_request(body_options)
    if exclude_water_supply is not None:
        options = DashboardOptions(exclude_water_supply=exclude_water_supply)
    return options


@router.post(
    PATH,
    summary="Build the natural capital dashboard of a portfolio",
    description=(
        "Send the holdings as JSON, as CSV (see GET /templates/natural-capital.csv)"
        " or as a browser file upload in the field 'file'. Every row that cannot"
        " be read is reported by row and field. Holdings whose code matches no"
        " activity are counted in 'unmatched_count', and the first MAX_ROW_ERRORS"
        " of them (1,000 by default) are listed under 'unmatched'."
    ),
    tags=TAGS,
    responses=responses(NaturalCapitalDashboard, 400, 413, 415),
)
def post_natural_capital_dashboard(
    exclude_water_supply: Annotated[
        bool | None,
        Query(description="Overrides options.exclude_water_supply of the body."),
    ] = None,
) -> Response[str]:
    limits = InputLimits.from_env()
    upload = read_upload(router.current_event, limits)
    holdings = parse_holdings(upload.body, upload.content_type, limits)
    options = dashboard_options(holdings.options, exclude_water_supply)
    dashboard = build_dashboard(
        holdings,
        get_knowledge_base(),
        options,
        max_unmatched=limits.max_row_errors,
    )
    # orjson writes a 100,000-holding dashboard in about 2 ms where json.dumps
    # takes about 40 ms (bench machine). Powertools passes a str body unchanged.
    # OPT_SERIALIZE_NUMPY also writes numpy scalars such as numpy.float64.
    body = orjson.dumps(dashboard, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(
        status_code=200, content_type="application/json", body=body.decode()
    )


register_template("natural-capital.csv", natural_capital_template_csv)
document_upload(
    "POST",
    PATH,
    UploadBody(
        NaturalCapitalRequest,
        NaturalCapitalUpload,
        natural_capital_template_csv().decode("utf-8-sig"),
    ),
)
