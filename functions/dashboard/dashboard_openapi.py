"""The dashboard API's OpenAPI document, generated from the resolver's routes.

Powertools documents a request body only as one JSON model, but the dashboard
routes read their body themselves in three media types. Each such route
registers an ``UploadBody`` here, and ``openapi_document`` adds it to the
operation as ``requestBody`` after Powertools has generated the rest.

Models that only describe a body live in ``dashboard_schemas``, and routes
refer to them by name. ``openapi_document`` adds their schemas to the
document's components, so a cold start never builds their classes.
"""

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal, NamedTuple

import aws_lambda_powertools.event_handler as event_handler
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from nature_risk.media_types import CSV_MEDIA_TYPES
from pydantic import BaseModel, ConfigDict

TITLE = "Nature-risk screening API"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "Screens a portfolio for nature-related risk with the ENCORE knowledge base:"
    " dependencies on ecosystem services, pressures on nature, and reference data."
)
_COMPONENT_REF = "#/components/schemas/{model}"
# The file part's media types that the parser reads as CSV. A file part
# without a Content-Type is read as CSV too, and any other type gets 415.
FILE_PART_MEDIA_TYPES = ", ".join(sorted(CSV_MEDIA_TYPES))


class ApiModel(BaseModel):
    """Base of the API's request and response models.

    With ``defer_build`` pydantic builds a model's validator and schema on its
    first use instead of at import. Most of these models only document the
    API, so most cold starts never build them.
    """

    model_config = ConfigDict(defer_build=True)


def responses(
    success: type[BaseModel] | str | None,
    *errors: int,
    success_content: dict[str, Any] | None = None,
) -> dict[int, dict[str, Any]]:
    """Document a route's 200 body and its error statuses for Powertools.

    ``success`` is the model the route returns, or the name of a model in
    ``dashboard_schemas`` for a body the route writes itself. Every route can
    return 422 (invalid parameters) and 500, so both are always listed.
    ``success_content`` replaces the JSON model for other media types.
    """
    content = success_content or {"application/json": _content(success)}
    documented: dict[int, dict[str, Any]] = {
        200: {"description": "Successful response", "content": content}
    }
    for status in sorted({*errors, 422, 500}):
        documented[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": _content("ErrorResponse")},
        }
    return documented


def _content(model: type[BaseModel] | str | None) -> dict[str, Any]:
    if isinstance(model, str):
        return {"schema": {"$ref": _COMPONENT_REF.format(model=model)}}
    return {"model": model}


class UploadBody(NamedTuple):
    """The three ways a dashboard route accepts a portfolio.

    The two models are named by their class names in ``dashboard_schemas``.
    """

    json_model: str
    form_model: str
    csv_example: str


_UPLOAD_BODIES: dict[tuple[str, str], UploadBody] = {}


def document_upload(method: str, path: str, body: UploadBody) -> None:
    """Register the request body that ``openapi_document`` adds to one operation."""
    _UPLOAD_BODIES[(method.lower(), path)] = body


def _add_schema(
    model: type[BaseModel],
    components: dict[str, Any],
    mode: Literal["validation", "serialization"],
) -> None:
    schema = model.model_json_schema(ref_template=_COMPONENT_REF, mode=mode)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)


def _document_model(name: str) -> type[BaseModel]:
    # Imported here because the models only describe the document (see the
    # module's docstring), so the import stays out of every cold start.
    import dashboard_schemas

    return getattr(dashboard_schemas, name)


def _model_schema(name: str, components: dict[str, Any]) -> dict[str, Any]:
    _add_schema(_document_model(name), components, "validation")
    return {"$ref": _COMPONENT_REF.format(model=name)}


def _add_response_schemas(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """Add the schema of every response model that ``responses`` named."""
    for name in sorted(_references(paths) - components.keys()):
        _add_schema(_document_model(name), components, "serialization")


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
                "encoding": {"file": {"contentType": FILE_PART_MEDIA_TYPES}},
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
    _add_response_schemas(document.get("paths", {}), components)
    for (method, path), body in sorted(_UPLOAD_BODIES.items()):
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = _request_body(body, components)
    document["components"]["schemas"] = _referenced_schemas(document, components)
    return document


def _references(node: object) -> set[str]:
    if isinstance(node, dict):
        found = set()
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _references(value)
        return found
    if isinstance(node, list):
        return set().union(*(_references(value) for value in node))
    return set()


def _referenced_schemas(
    document: dict[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    # Powertools always adds its own validation error schemas. Routes here
    # document ErrorResponse instead, so unreferenced schemas are dropped.
    referenced = _references(document.get("paths", {}))
    pending = list(referenced)
    while pending:
        name = pending.pop()
        for found in _references(components.get(name, {})) - referenced:
            referenced.add(found)
            pending.append(found)
    return {name: components[name] for name in sorted(referenced) if name in components}


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """Serialise the document the way ``docs/openapi.json`` stores it."""
    return json.dumps(openapi_document(app), indent=2, sort_keys=False) + "\n"


def swagger_html(app: APIGatewayHttpResolver) -> str:
    """Render Swagger UI for the document, with the assets Powertools bundles."""
    # Imported here because it also imports Powertools' OpenAPI models, about
    # 0.1 s of a cold start that most requests never need.
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import (
        generate_swagger_html,
    )

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    script = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    # "</" inside the embedded JSON would end the page's script element early.
    spec = json.dumps(openapi_document(app)).replace("</", "<\\/")
    return generate_swagger_html(spec, script, style, "", None)
