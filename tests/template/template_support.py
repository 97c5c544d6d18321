"""Read template.yaml with its CloudFormation tags, and walk its IAM policies.

cfn-lint's decoder turns short tags into their long form (``!Ref X`` becomes
``{"Ref": "X"}``, ``!GetAtt X.Arn`` becomes ``{"Fn::GetAtt": ["X", "Arn"]}``),
which is the form the tests compare against.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@functools.cache
def load_template() -> dict[str, Any]:
    """Parse template.yaml once per test session."""
    return cfn_yaml.load(str(TEMPLATE_PATH))


def resources() -> dict[str, Any]:
    return load_template()["Resources"]


def properties(logical_id: str) -> dict[str, Any]:
    return resources()[logical_id].get("Properties", {})


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    """The long form of ``!GetAtt logical_id.attribute``."""
    return {"Fn::GetAtt": [logical_id, attribute]}


def ref(logical_id: str) -> dict[str, str]:
    """The long form of ``!Ref logical_id``."""
    return {"Ref": logical_id}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def function_role_id(function_id: str) -> str:
    """The logical id of the IAM role a function's ``Role`` property names."""
    role = properties(function_id)["Role"]
    assert isinstance(role, dict) and "Fn::GetAtt" in role, (
        f"{function_id} must name its own role with !GetAtt <Role>.Arn"
    )
    return role["Fn::GetAtt"][0]


def role_statements(role_id: str) -> Iterator[dict[str, Any]]:
    """Every statement of the role's inline policies."""
    for policy in properties(role_id).get("Policies", []):
        yield from as_list(policy["PolicyDocument"]["Statement"])


def statement_actions(statement: dict[str, Any]) -> list[str]:
    return [str(action) for action in as_list(statement["Action"])]


def role_actions(role_id: str) -> list[str]:
    """Every action the role's inline policies allow."""
    return [
        action
        for statement in role_statements(role_id)
        if statement["Effect"] == "Allow"
        for action in statement_actions(statement)
    ]


def functions() -> dict[str, dict[str, Any]]:
    """The template's Lambda functions by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in resources().items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def http_route_keys(function_id: str) -> set[str]:
    """The ``METHOD /path`` route keys of the function's HttpApi events."""
    events = properties(function_id).get("Events", {})
    return {
        f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
        for event in events.values()
        if event["Type"] == "HttpApi"
    }
