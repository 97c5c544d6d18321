"""The dashboard API's OpenAPI document, generated from the resolver's routes.

Powertools documents a request body only as one JSON model, but the dashboard
routes read their body themselves in three media types. Each such route
registers an ``UploadBody`` here, and ``openapi_document`` adds it to the
operation as ``requestBody`` after Powertools has generated the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler as event_handler
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import (
    generate_swagger_html,
)
from pydantic import BaseModel

TITLE = "Nature-risk screening API"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "Screens a portfolio for nature-related risk with the ENCORE knowledge base:"
    " dependencies on ecosystem services, pressures on nature, and reference data."
)
_COMPONENT_REF = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class UploadBody:
    """The three ways a dashboard route accepts a portfolio."""

    json_model: type[BaseModel]
    form_model: type[BaseModel]
    csv_example: str


_UPLOAD_BODIES: dict[tuple[str, str], UploadBody] = {}


def document_upload(method: str, path: str, body: UploadBody) -> None:
    """Register the request body that ``openapi_document`` adds to one operation."""
    _UPLOAD_BODIES[(method.lower(), path)] = body


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_COMPONENT_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": _COMPONENT_REF.format(model=model.__name__)}


def _request_body(body: UploadBody, components: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": _model_schema(body.json_model, components)},
            "text/csv": {
                "schema": {"type": "string"},
                "example": body.csv_example,
            },
            "multipart/form-data": {
                "schema": _model_schema(body.form_model, components),
                "encoding": {"file": {"contentType": "text/csv, application/json"}},
            },
        },
    }


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """Generate the complete OpenAPI document of ``app`` as a JSON-ready dict."""
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE, version=API_VERSION, description=DESCRIPTION
        )
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for (method, path), body in sorted(_UPLOAD_BODIES.items()):
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = _request_body(body, components)
    document["components"]["schemas"] = dict(sorted(components.items()))
    return document


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """Serialise the document the way ``docs/openapi.json`` stores it."""
    return json.dumps(openapi_document(app), indent=2, sort_keys=False) + "\n"


def swagger_html(app: APIGatewayHttpResolver) -> str:
    """Render Swagger UI for the document, with the assets Powertools bundles."""
    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    script = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    # "</" inside the embedded JSON would end the page's script element early.
    spec = json.dumps(openapi_document(app)).replace("</", "<\\/")
    return generate_swagger_html(spec, script, style, "", None)
