"""CSV templates a user downloads, fills in and uploads: ``GET /templates/{module}``.

Each dashboard module registers its template under a file name such as
``natural-capital.csv`` with ``register_template``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from dashboard_openapi import responses
from nature_risk.errors import NotFound

router = Router()

_TEMPLATES: dict[str, Callable[[], bytes]] = {}


def register_template(file_name: str, build: Callable[[], bytes]) -> None:
    """Serve ``build()`` as ``GET /templates/<file_name>``."""
    if not file_name.endswith(".csv") or "/" in file_name:
        raise ValueError("a template file name is one path segment ending in .csv")
    _TEMPLATES[file_name] = build


def template_names() -> list[str]:
    """List the registered template file names, sorted."""
    return sorted(_TEMPLATES)


@router.get(
    "/templates/<module>",
    summary="Download a module's CSV template",
    description="Each dashboard module has one, e.g. natural-capital.csv.",
    tags=["Templates"],
    responses=responses(
        None,
        404,
        success_content={"text/csv": {"schema": {"type": "string"}}},
    ),
)
def get_template(
    module: Annotated[
        str,
        Path(
            max_length=64,
            description="Template file name, e.g. natural-capital.csv.",
        ),
    ],
):
    # No return annotation: with one, Powertools would serialise the bytes
    # body as JSON text instead of sending it base64-encoded.
    build = _TEMPLATES.get(module)
    if build is None:
        names = ", ".join(template_names())
        raise NotFound(f"No template has this name. Templates: {names}.")
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=build(),
        headers={
            "Content-Disposition": f'attachment; filename="{module}"',
            "Cache-Control": "public, max-age=3600",
        },
    )
