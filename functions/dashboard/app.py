"""Dashboard function: public reference data, templates and dashboards.

The function is stateless: each response comes from the request and the
loaded data alone. Routes live in ``dashboard_*`` modules as Powertools
routers, and this module only joins them into one resolver. Add a module's
routes with ``app.include_router(router)`` below. The ENCORE release loads
when this module is imported, so a broken release fails the cold start.
"""

import functools
from typing import Any, Literal

# Import nature_risk before anything else, because it can leave the unused
# Powertools packages out of the cold start only before Powertools is imported.
import nature_risk  # noqa: F401

# isort: split
import dashboard_biodiversity
import dashboard_natural_capital
import dashboard_reference
import dashboard_templates
from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from dashboard_openapi import (
    ApiModel,
    openapi_document,
    openapi_json,
    responses,
    swagger_html,
)
from nature_risk.api import create_resolver
from nature_risk.knowledge_base import load_at_cold_start
from nature_risk.observability import get_logger, lambda_entry

logger = get_logger("dashboard")
# A broken release fails the cold start with its file, row and column, rather
# than every request. From the layer's snapshot this takes a few milliseconds.
load_at_cold_start(logger)
app = create_resolver(logger)
app.include_router(dashboard_reference.router)
app.include_router(dashboard_templates.router)
app.include_router(dashboard_natural_capital.router)
app.include_router(dashboard_biodiversity.router)

# Served outside the OpenAPI document, which would otherwise describe itself.
DOCUMENTATION_ROUTE_KEYS = ("GET /openapi.json", "GET /swagger")


class HealthStatus(ApiModel):
    """The function's liveness status."""

    status: Literal["ok"]


@app.get(
    "/health",
    summary="Check that the function is running",
    tags=["Service"],
    responses=responses(HealthStatus),
)
def get_health() -> HealthStatus:
    return HealthStatus(status="ok")


@app.get("/openapi.json", include_in_schema=False)
def get_openapi_document() -> Response[str]:
    # Routes are fixed once the module is imported, so one rendering serves all.
    return Response(
        status_code=200, content_type="application/json", body=_openapi_json()
    )


@app.get("/swagger", include_in_schema=False)
def get_swagger_ui() -> Response[str]:
    # Powertools' enable_swagger would render its own document, which lacks the
    # upload request bodies that dashboard_openapi adds.
    return Response(status_code=200, content_type="text/html", body=_swagger_html())


@functools.cache
def _openapi_json() -> str:
    return openapi_json(app)


@functools.cache
def _swagger_html() -> str:
    return swagger_html(app)


def route_keys() -> list[str]:
    """List every API Gateway route key this function serves, for the HTTP API."""
    keys = [
        f"{method.upper()} {path}"
        for path, operations in openapi_document(app).get("paths", {}).items()
        for method in operations
    ]
    return sorted(keys) + list(DOCUMENTATION_ROUTE_KEYS)


@lambda_entry(logger, resolver=app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
