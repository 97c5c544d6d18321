"""HTTP plumbing shared by the API functions: the resolver and the error mapping.

Domain code raises ``nature_risk.errors`` exceptions; this module turns each
into one JSON error response. Handlers stay thin.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)

from nature_risk.errors import InputError, NatureRiskError


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    problems: list[dict[str, object]] | None = None,
    request_id: str | None = None,
    truncated: bool = False,
) -> Response:
    """Build the JSON error body every route returns."""
    error: dict[str, object] = {"code": code, "message": message}
    if problems is not None:
        error["problems"] = problems
        error["problems_truncated"] = truncated
    if request_id:
        error["request_id"] = request_id
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": error}),
    )


def create_resolver() -> APIGatewayHttpResolver:
    """Create an HTTP API (payload 2.0) resolver with the product's error mapping."""
    app = APIGatewayHttpResolver(enable_validation=True, debug=False)

    @app.exception_handler(NatureRiskError)
    def _domain_error(error: NatureRiskError) -> Response:
        problems = None
        truncated = False
        if isinstance(error, InputError):
            problems = [problem.to_dict() for problem in error.problems]
            truncated = error.truncated
        return error_response(
            error.status,
            error.code,
            error.message,
            problems=problems,
            truncated=truncated,
        )

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        problems = [
            {
                "field": ".".join(str(part) for part in item.get("loc", ())),
                "reason": item.get("type", "invalid"),
            }
            for item in error.errors()
        ]
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            "The request is invalid.",
            problems=problems,
        )

    return app
