"""The HTTP API's CORS configuration, read from template.yaml and applied locally.

With a ``CorsConfiguration``, API Gateway responds to a CORS preflight
request itself, even when no route takes OPTIONS, and adds the configured CORS headers
to the responses of requests from an allowed origin, ignoring any CORS header
the function returns. Source: AWS, "Configure CORS for HTTP APIs in API
Gateway" (API Gateway Developer Guide). The local server does the same from
the same configuration, so a web client behaves alike on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HTTP_API_TYPE = "AWS::Serverless::HttpApi"


@dataclass(frozen=True)
class CorsConfiguration:
    """An HTTP API's CORS settings, with ``!Ref`` parameters resolved."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allowed_origin(self, headers: Mapping[str, str]) -> str | None:
        """Return the request's Origin when the configuration allows it, else None."""
        origin = headers.get("origin")
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        """Tell a CORS preflight: OPTIONS with an Origin and the requested method."""
        return (
            method.upper() == "OPTIONS"
            and bool(headers.get("origin"))
            and bool(headers.get("access-control-request-method"))
        )

    def preflight_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Build the CORS headers of a preflight response; none for another origin."""
        origin = self.allowed_origin(headers)
        if origin is None:
            return {}
        cors_headers = {
            "access-control-allow-origin": origin,
            "access-control-allow-methods": ",".join(self.allow_methods),
            "access-control-allow-headers": ",".join(self.allow_headers),
        }
        if self.max_age is not None:
            cors_headers["access-control-max-age"] = str(self.max_age)
        if self.allow_credentials:
            cors_headers["access-control-allow-credentials"] = "true"
        return cors_headers

    def response_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Build the CORS headers added to a response; none for another origin."""
        origin = self.allowed_origin(headers)
        if origin is None:
            return {}
        cors_headers = {"access-control-allow-origin": origin}
        if self.expose_headers:
            exposed = ",".join(self.expose_headers)
            cors_headers["access-control-expose-headers"] = exposed
        if self.allow_credentials:
            cors_headers["access-control-allow-credentials"] = "true"
        return cors_headers


class _TemplateLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short tags (``!Ref X``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    # The long form of the short tag: !Ref X is {"Ref": "X"}, !Sub s is
    # {"Fn::Sub": s}, as CloudFormation defines them.
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def _resolve(values: object, parameters: Mapping[str, str]) -> tuple[str, ...]:
    """Resolve a list of strings and ``!Ref`` parameters; drop unset parameters."""
    resolved = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            value = parameters.get(str(value["Ref"]))
        if isinstance(value, str | int) and not isinstance(value, bool):
            resolved.append(str(value))
    return tuple(resolved)


def load_cors_configuration(
    template: Path, parameters: Mapping[str, str]
) -> CorsConfiguration | None:
    """Read the CORS configuration of the template's HTTP API.

    ``parameters`` gives the template parameters that ``!Ref`` names, such as
    ``WebClientOrigin``. An origin whose parameter is not given is left out,
    so no origin is allowed without it. Returns None when the template's HTTP
    API has no ``CorsConfiguration``.
    """
    # _TemplateLoader is a SafeLoader, so the template builds no Python objects.
    document = yaml.load(template.read_text(encoding="utf-8"), _TemplateLoader)
    for resource in (document.get("Resources") or {}).values():
        if resource.get("Type") != HTTP_API_TYPE:
            continue
        settings = (resource.get("Properties") or {}).get("CorsConfiguration")
        if not isinstance(settings, dict):
            return None
        max_age = settings.get("MaxAge")
        return CorsConfiguration(
            allow_origins=_resolve(settings.get("AllowOrigins"), parameters),
            allow_methods=_resolve(settings.get("AllowMethods"), parameters),
            allow_headers=_resolve(settings.get("AllowHeaders"), parameters),
            expose_headers=_resolve(settings.get("ExposeHeaders"), parameters),
            max_age=int(max_age) if isinstance(max_age, int) else None,
            allow_credentials=settings.get("AllowCredentials") is True,
        )
    return None
