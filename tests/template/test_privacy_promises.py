"""The privacy promises that template.yaml must keep and the linters do not check.

- The dashboard function has no database, S3 or KMS permission and is not in
  the VPC, so what a user sends it cannot be stored.
- The backup bucket policy denies every request without TLS and all object
  access to principals other than the backup role and the operators' role.
- The database parameter group forces TLS.
- API access logs carry no query string, body, header or raw path.
"""

from __future__ import annotations

import json
import re

from tests.template.template_support import (
    as_list,
    function_role_id,
    functions,
    get_att,
    load_template,
    properties,
    ref,
    resources,
    role_actions,
    statement_actions,
)

# Action prefixes that touch stored data or its keys.
DATA_SERVICES = ("s3:", "rds:", "rds-db:", "rds-data:", "secretsmanager:", "kms:")
DATABASE_VARIABLES = ("DB_", "BACKUP_")


def test_dashboard_role_has_no_data_permission():
    role_id = function_role_id("DashboardFunction")
    actions = role_actions(role_id)
    assert actions
    for action in actions:
        assert not action.lower().startswith(DATA_SERVICES), action
        assert "*" not in action.split(":")[0], action


def test_dashboard_role_has_no_managed_policy():
    role = properties(function_role_id("DashboardFunction"))
    assert "ManagedPolicyArns" not in role
    assert "PermissionsBoundary" not in role


def test_dashboard_has_no_sam_policies():
    dashboard = properties("DashboardFunction")
    assert "Policies" not in dashboard


def test_dashboard_is_not_in_the_vpc():
    dashboard = properties("DashboardFunction")
    assert "VpcConfig" not in dashboard
    globals_function = _globals_function()
    assert "VpcConfig" not in globals_function
    assert "Role" not in globals_function
    assert "Policies" not in globals_function


def test_dashboard_has_no_database_settings():
    variables = properties("DashboardFunction")["Environment"]["Variables"]
    for name in variables:
        assert not name.startswith(DATABASE_VARIABLES), name


def test_dashboard_role_is_its_own():
    dashboard_role = function_role_id("DashboardFunction")
    for function_id in functions():
        if function_id != "DashboardFunction":
            assert function_role_id(function_id) != dashboard_role, function_id


def test_bucket_policy_denies_requests_without_tls():
    statements = _bucket_policy_statements()
    tls_denials = [
        statement
        for statement in statements
        if statement["Effect"] == "Deny"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        == "false"
    ]
    assert len(tls_denials) == 1
    denial = tls_denials[0]
    assert denial["Principal"] == "*"
    assert statement_actions(denial) == ["s3:*"]
    resources_denied = as_list(denial["Resource"])
    assert get_att("BackupBucket", "Arn") in resources_denied
    assert {"Fn::Sub": "${BackupBucket.Arn}/*"} in resources_denied


def test_bucket_policy_denies_other_principals():
    statements = _bucket_policy_statements()
    denials = [
        statement
        for statement in statements
        if statement["Effect"] == "Deny"
        and "ArnNotEquals" in statement.get("Condition", {})
    ]
    assert len(denials) == 1
    denial = denials[0]
    assert denial["Principal"] == "*"
    allowed = as_list(denial["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    assert allowed == [get_att("BackupFunctionRole", "Arn"), ref("OperatorsRoleArn")]
    actions = statement_actions(denial)
    for action in ("s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"):
        assert action in actions
    assert "s3:ListBucket*" in actions


def test_bucket_policy_allows_nothing():
    for statement in _bucket_policy_statements():
        assert statement["Effect"] == "Deny", statement.get("Sid")


def test_parameter_group_forces_ssl():
    group = properties("DatabaseParameterGroup")
    assert str(group["Parameters"]["rds.force_ssl"]) == "1"
    assert properties("Database")["DBParameterGroupName"] == ref(
        "DatabaseParameterGroup"
    )


def test_parameter_group_keeps_sql_out_of_logs():
    parameters = properties("DatabaseParameterGroup")["Parameters"]
    assert parameters["log_statement"] == "none"
    assert parameters["log_min_error_statement"] == "panic"
    assert parameters["log_error_verbosity"] == "terse"
    assert str(parameters["log_parameter_max_length_on_error"]) == "0"


def test_access_log_has_no_query_string_or_body():
    log_format = _access_log_format()
    variables = set(re.findall(r"\$[a-z]+\.[A-Za-z0-9_.]+", log_format))
    assert variables
    for variable in variables:
        lowered = variable.lower()
        assert not lowered.startswith("$request."), variable
        for forbidden in ("querystring", "body", "header", "path", "useragent"):
            assert forbidden not in lowered, variable
        assert "authorizer" not in lowered, variable


def test_access_log_names_the_required_fields():
    fields = json.loads(_access_log_format())
    assert fields["requestId"] == "$context.requestId"
    assert fields["ip"] == "$context.identity.sourceIp"
    assert fields["routeKey"] == "$context.routeKey"
    assert fields["status"] == "$context.status"
    assert fields["responseLatency"] == "$context.responseLatency"
    assert fields["responseLength"] == "$context.responseLength"


def test_access_log_group_is_encrypted():
    destination = properties("HttpApi")["AccessLogSettings"]["DestinationArn"]
    assert destination == get_att("ApiAccessLogGroup", "Arn")
    group = properties("ApiAccessLogGroup")
    assert group["KmsKeyId"] == get_att("StackKey", "Arn")


def _globals_function() -> dict:
    return load_template().get("Globals", {}).get("Function", {})


def _bucket_policy_statements() -> list[dict]:
    policies = [
        resource
        for resource in resources().values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
    ]
    assert len(policies) == 1
    policy = policies[0]["Properties"]
    assert policy["Bucket"] == ref("BackupBucket")
    return as_list(policy["PolicyDocument"]["Statement"])


def _access_log_format() -> str:
    return properties("HttpApi")["AccessLogSettings"]["Format"]
