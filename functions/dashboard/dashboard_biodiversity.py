"""Biodiversity routes: the mining and agriculture dashboards and their CSV templates.

``POST /dashboards/mining`` and ``POST /dashboards/agriculture`` take JSON,
CSV (raw or base64) or a multipart file upload, like every dashboard route.
The biodiversity package, the open data and the layer packs load once per
container, on the first mining or agriculture request. Loading them at
import would add their cost to the cold start of every other route. An
invalid pack makes every mining and agriculture request return 503 and log the
pack folder and the field or row at fault, and so does an invalid setting such
as a missing ``BIODIVERSITY_DATA_DIR``, logged with the variable's name
(``require_biodiversity``).
"""

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from dashboard_openapi import UploadBody, document_upload, responses
from dashboard_templates import register_template
from dashboard_uploads import read_upload
from nature_risk.api import json_body
from nature_risk.config import InputLimits
from nature_risk.knowledge_base import get_knowledge_base

router = Router()

TAGS = ["Biodiversity"]
MINING_PATH = "/dashboards/mining"
AGRICULTURE_PATH = "/dashboards/agriculture"

MINING_TEMPLATE = (
    (
        "name",
        "company",
        "latitude",
        "longitude",
        "commodity",
        "status",
        "amount",
        "country",
    ),
    (
        "Example mine",
        "Example Mining plc",
        "-23.45",
        "-68.95",
        "copper",
        "operating",
        "1000000",
        "CL",
    ),
)
AGRICULTURE_TEMPLATE = (
    ("company", "commodity", "country", "production_tonnes", "area_hectares", "amount"),
    ("Example Farms Ltd", "wheat", "FR", "50000", "", "250000"),
    ("Example Farms Ltd", "soybeans", "BRA", "", "12000", "100000"),
)


def _csv(rows: tuple[tuple[str, ...], ...]) -> bytes:
    # The byte order mark makes Excel open the file as UTF-8.
    return ("\ufeff" + "\r\n".join(",".join(row) for row in rows) + "\r\n").encode()


def _json_response(dashboard: dict[str, object]) -> Response[str]:
    from nature_risk.biodiversity.results import check_response_size

    body = json_body(dashboard)
    check_response_size(body)
    return Response(status_code=200, content_type="application/json", body=body)


# 503: an invalid layer pack or biodiversity setting (require_biodiversity).
_DASHBOARD_RESPONSES = responses(
    None,
    400,
    413,
    415,
    503,
    success_content={"application/json": {"schema": {"type": "object"}}},
)


@router.post(
    MINING_PATH,
    summary="Build the biodiversity dashboard of mining assets",
    description=(
        "Locates each asset in a country and an ecoregion, adds layer-pack "
        "indicators, gives a priority tier with engagement guidance and "
        "summarises the portfolio. See docs/methodology.md."
    ),
    tags=TAGS,
    responses=_DASHBOARD_RESPONSES,
)
def post_mining_dashboard() -> Response[str]:
    # Imported here so that only biodiversity requests pay for shapely and pyshp.
    from nature_risk.biodiversity import (
        build_mining_dashboard,
        parse_mining_assets,
        require_biodiversity,
    )

    limits = InputLimits.from_env()
    upload = read_upload(router.current_event, limits)
    assets = parse_mining_assets(upload.body, upload.content_type, limits)
    biodiversity = require_biodiversity()
    dashboard = build_mining_dashboard(
        assets,
        biodiversity.data,
        biodiversity.packs,
        radius_km=biodiversity.settings.radius_km,
        coastal_fallback_km=biodiversity.settings.coastal_fallback_km,
    )
    return _json_response(dashboard)


@router.post(
    AGRICULTURE_PATH,
    summary="Build the biodiversity dashboard of agricultural holdings",
    description=(
        "Estimates each holding's land footprint from national yields, adds the "
        "country's ecoregion profile, the crop's ENCORE activity and layer-pack "
        "indicators, gives a priority tier with engagement guidance and "
        "summarises the portfolio. See docs/methodology.md."
    ),
    tags=TAGS,
    responses=_DASHBOARD_RESPONSES,
)
def post_agriculture_dashboard() -> Response[str]:
    # Imported here so that only biodiversity requests pay for shapely and pyshp.
    from nature_risk.biodiversity import (
        build_agriculture_dashboard,
        parse_agriculture_holdings,
        require_biodiversity,
    )

    limits = InputLimits.from_env()
    upload = read_upload(router.current_event, limits)
    holdings = parse_agriculture_holdings(upload.body, upload.content_type, limits)
    biodiversity = require_biodiversity()
    dashboard = build_agriculture_dashboard(
        holdings, biodiversity.data, biodiversity.packs, get_knowledge_base()
    )
    return _json_response(dashboard)


register_template("mining.csv", lambda: _csv(MINING_TEMPLATE))
register_template("agriculture.csv", lambda: _csv(AGRICULTURE_TEMPLATE))
document_upload(
    "POST",
    MINING_PATH,
    UploadBody("MiningDashboardRequest", "FileUpload", _csv(MINING_TEMPLATE).decode()),
)
document_upload(
    "POST",
    AGRICULTURE_PATH,
    UploadBody(
        "AgricultureDashboardRequest", "FileUpload", _csv(AGRICULTURE_TEMPLATE).decode()
    ),
)
