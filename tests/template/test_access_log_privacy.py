"""template.yaml logs API access with the product's format and keeps logs bounded.

The access log may use only the ``$context`` variables in
``ALLOWED_ACCESS_LOG_VARIABLES``. No function may switch on event logging,
tracer capture or Powertools debug output through its environment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from nature_risk.observability import (
    ACCESS_LOG_FORMAT,
    ALLOWED_ACCESS_LOG_VARIABLES,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
CONTEXT_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_.]+")
DEBUG_VARIABLES = {
    "POWERTOOLS_DEV",
    "POWERTOOLS_DEBUG",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
    "POWERTOOLS_EVENT_HANDLER_DEBUG",
}


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CloudFormationLoader.add_multi_constructor("!", _any_tag)


@pytest.fixture(scope="module")
def resources() -> dict:
    if not TEMPLATE.exists():
        pytest.fail("template.yaml is missing")
    template = yaml.load(TEMPLATE.read_text(encoding="utf-8"), _CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    return template["Resources"]


def access_log_formats(resources: dict) -> list[str]:
    formats = []
    for resource in resources.values():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind in {"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Stage"}:
            settings = properties.get("AccessLogSettings") or {}
            formats.append(settings.get("Format"))
    return formats


def test_every_api_has_access_log(resources):
    formats = access_log_formats(resources)
    assert formats
    assert all(isinstance(value, str) for value in formats)


def test_access_log_uses_allowed_variables(resources):
    for value in access_log_formats(resources):
        used = set(CONTEXT_VARIABLE.findall(value))
        assert used <= ALLOWED_ACCESS_LOG_VARIABLES, used - ALLOWED_ACCESS_LOG_VARIABLES


def test_access_log_equals_product_format(resources):
    for value in access_log_formats(resources):
        assert json.loads(value) == json.loads(ACCESS_LOG_FORMAT)


def test_every_log_group_has_retention(resources):
    groups = [
        resource
        for resource in resources.values()
        if resource.get("Type") == "AWS::Logs::LogGroup"
    ]
    assert groups
    for group in groups:
        assert group["Properties"].get("RetentionInDays") is not None


def test_no_function_turns_on_debug_output(resources):
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        variables = (
            resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        )
        for variable in DEBUG_VARIABLES & set(variables):
            assert str(variables[variable]).lower() == "false", f"{name} {variable}"
