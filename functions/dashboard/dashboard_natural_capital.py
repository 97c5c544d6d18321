"""The natural capital dashboard route and its CSV template.

``POST /dashboards/natural-capital`` takes a portfolio as JSON, CSV or a
browser upload and returns the exposure by ENCORE materiality rating for
every ecosystem service and pressure. The layer's parser and dashboard code
do the work, and ``dashboard_schemas`` describes the bodies.
"""

from collections.abc import Mapping
from typing import Annotated

import orjson
from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from dashboard_openapi import UploadBody, document_upload, responses
from dashboard_templates import register_template
from dashboard_uploads import read_upload
from nature_risk.config import InputLimits
from nature_risk.knowledge_base import get_knowledge_base
from nature_risk.natural_capital import DashboardOptions, build_dashboard
from nature_risk.portfolio_input import natural_capital_template_csv, parse_holdings

router = Router()

PATH = "/dashboards/natural-capital"
TAGS = ["Natural capital"]


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
    # 503: a GICS code when the release's GICS workbook is invalid.
    responses=responses("NaturalCapitalDashboard", 400, 413, 415, 503),
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
        "NaturalCapitalRequest",
        "NaturalCapitalUpload",
        natural_capital_template_csv().decode("utf-8-sig"),
    ),
)
