"""HTTP plumbing shared by the API functions: the resolver and the error mapping.

Domain code raises ``nature_risk.errors`` exceptions; this module turns each
into one JSON error response. Handlers stay thin.

Every handler here logs the error class and code, never the error's text:
parsers and drivers quote the input in their messages. Debug mode stays off
even when ``POWERTOOLS_DEV`` is set, because it prints events and returns stack
traces to the caller.
"""

from __future__ import annotations

import binascii
import json
from http import HTTPStatus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import (
    APIGatewayHttpResolver,
    Response,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)

from nature_risk.encore_files import KnowledgeBaseError
from nature_risk.errors import InputError, NatureRiskError
from nature_risk.observability import (
    exception_fields,
    get_logger,
    validation_log_fields,
)
from nature_risk.validation_problems import parameter_problems

KNOWLEDGE_BASE_UNAVAILABLE_MESSAGE = (
    "The request needs a part of the ENCORE knowledge base that is invalid in "
    "this deployment. Quote the request id when you report it."
)


def json_body(document: object, *, ensure_ascii: bool = True) -> str:
    """Serialise a response body as strict JSON (RFC 8259).

    ``allow_nan=False`` makes a NaN or an infinity raise ``ValueError``, which
    the resolver turns into a 500, so no response ever carries ``NaN`` or
    ``Infinity``, which JSON parsers reject.
    """
    return json.dumps(
        document, allow_nan=False, ensure_ascii=ensure_ascii, separators=(",", ":")
    )


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
        body=json_body({"error": error}),
    )


# HTTP APIs cannot add response headers by configuration, so the resolver adds
# HSTS to every response it returns: routes, error mappings and 404s alike.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


class SecureHeadersResolver(APIGatewayHttpResolver):
    """HTTP API resolver whose responses all carry Strict-Transport-Security."""

    def resolve(self, event: dict, context: object) -> dict:
        response = super().resolve(event, context)
        headers = response.setdefault("headers", {})
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response


def _request_id(app: APIGatewayHttpResolver) -> str | None:
    try:
        return app.current_event.request_context.request_id
    except (AttributeError, KeyError, TypeError):
        return None


def create_resolver(logger: Logger | None = None) -> APIGatewayHttpResolver:
    """Create an HTTP API (payload 2.0) resolver with the product's error mapping.

    ``logger`` defaults to the product logger of ``POWERTOOLS_SERVICE_NAME``.
    """
    # Routes that return a dict are serialised by ``serializer``.
    app = SecureHeadersResolver(
        enable_validation=True, debug=False, serializer=json_body
    )
    log = logger or get_logger()

    @app.exception_handler(NatureRiskError)
    def _domain_error(error: NatureRiskError) -> Response:
        problems = None
        truncated = False
        if isinstance(error, InputError):
            problems = [problem.to_dict() for problem in error.problems]
            truncated = error.truncated
        keys = {
            "error_class": type(error).__name__,
            "error_code": error.code,
            "status": int(error.status),
            "problems": len(problems or ()),
        }
        request_id = None
        if error.status >= 500:
            # A server-side failure, such as the database being unreachable.
            # The caller gets the request id to quote when reporting it.
            log.error("Request failed", extra={**keys, **exception_fields(error)})
            request_id = _request_id(app)
        else:
            log.info("Request rejected", extra=keys)
        response = error_response(
            error.status,
            error.code,
            error.message,
            problems=problems,
            request_id=request_id,
            truncated=truncated,
        )
        response.headers.update(error.headers)
        return response

    @app.exception_handler(KnowledgeBaseError)
    def _knowledge_base_error(error: KnowledgeBaseError) -> Response:
        # Only the parts read on first use (the GICS workbook) fail here,
        # because the functions load the rest of the release when they start.
        log.error(
            "Knowledge base invalid",
            extra={
                **exception_fields(error),
                **error.log_fields(),
                "status": int(HTTPStatus.SERVICE_UNAVAILABLE),
            },
        )
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "service_unavailable",
            KNOWLEDGE_BASE_UNAVAILABLE_MESSAGE,
            request_id=_request_id(app),
        )

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        problems = parameter_problems(error.errors())
        log.info(
            "Request rejected",
            extra={
                "error_class": type(error).__name__,
                "status": int(HTTPStatus.UNPROCESSABLE_ENTITY),
                **validation_log_fields(error.errors()),
            },
        )
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            "Some request parameters are invalid: each problem names one and what"
            " it must be.",
            problems=problems,
        )

    @app.exception_handler([json.JSONDecodeError, UnicodeDecodeError, binascii.Error])
    def _undecodable_body(error: ValueError) -> Response:
        # These messages quote the body around the failure, so only the class is
        # logged and the response names no position.
        log.info(
            "Request rejected",
            extra={
                "error_class": type(error).__name__,
                "error_code": "invalid_body",
                "status": int(HTTPStatus.BAD_REQUEST),
            },
        )
        return error_response(
            HTTPStatus.BAD_REQUEST,
            "invalid_body",
            "The request body could not be decoded: send valid UTF-8 JSON, CSV or"
            " base64 as the Content-Type states.",
        )

    @app.not_found
    def _route_not_found(error: NotFoundError) -> Response:
        return error_response(
            HTTPStatus.NOT_FOUND, "not_found", "No route matches the request."
        )

    @app.exception_handler(Exception)
    def _unexpected_error(error: Exception) -> Response:
        if isinstance(error, ServiceError):
            # Powertools' own HTTP errors (BadRequestError, ...) keep their status.
            raise error
        log.error(
            "Unhandled error",
            extra={**exception_fields(error), "status": 500},
        )
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal_error",
            "The request failed. Quote the request id when you report it.",
            request_id=_request_id(app),
        )

    return app
