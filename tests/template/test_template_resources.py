"""template.yaml describes what the product needs, with the settings it promises.

cfn-lint checks that the template is valid, and checkov that it follows the
common security rules. These tests check the product's own choices: routes
that match the handlers, least-privilege roles, the bucket's hardening, the
database, the network paths and the bastion.
"""

from __future__ import annotations

import sys

import cfnlint.api as cfn_lint_api
import pytest

from tests.functions import load_function
from tests.template.template_support import (
    TEMPLATE_PATH,
    function_role_id,
    functions,
    get_att,
    http_route_keys,
    load_template,
    properties,
    ref,
    resources,
    role_actions,
    role_statements,
    statement_actions,
)

TESTS_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


# Functions and routes --------------------------------------------------------


def test_runtime_matches_the_tests():
    globals_function = load_template()["Globals"]["Function"]
    assert globals_function["Runtime"] == TESTS_RUNTIME
    for function_id in functions():
        assert properties(function_id).get("Runtime", TESTS_RUNTIME) == TESTS_RUNTIME
    layer = properties("CommonLayer")
    assert layer["CompatibleRuntimes"] == [TESTS_RUNTIME]


def test_functions_use_the_common_layer():
    globals_function = load_template()["Globals"]["Function"]
    assert globals_function["Layers"] == [ref("CommonLayer")]
    assert globals_function["Handler"] == "app.lambda_handler"
    for function_id in functions():
        assert "Layers" not in properties(function_id), function_id


def test_layer_is_built_by_its_makefile():
    layer = resources()["CommonLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "layers/common/"


def test_functions_have_limits_and_own_log_group():
    for function_id in functions():
        function = properties(function_id)
        assert function["MemorySize"] >= 128, function_id
        assert function["Timeout"] >= 1, function_id
        assert "ReservedConcurrentExecutions" in function, function_id
        log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = properties(log_group_id)
        assert log_group["RetentionInDays"] == ref("LogRetentionDays"), function_id
        assert log_group["KmsKeyId"] == get_att("StackKey", "Arn"), function_id


def test_api_functions_fit_the_integration_timeout():
    # HTTP API integrations time out after 30 seconds.
    for function_id in ("DashboardFunction", "PortfolioFunction"):
        assert properties(function_id)["Timeout"] < 30, function_id


def test_functions_log_to_distinct_groups():
    groups = [
        properties(function_id)["LoggingConfig"]["LogGroup"]["Ref"]
        for function_id in functions()
    ]
    assert len(groups) == len(set(groups))


@pytest.fixture(scope="module")
def dashboard_function(encore_dir, biodiversity_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        yield load_function("dashboard")


@pytest.fixture(scope="module")
def portfolio_function(encore_dir, biodiversity_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENCORE_KB_DIR", str(encore_dir))
        patch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))
        yield load_function("portfolio")


def test_dashboard_routes_match_the_handler(dashboard_function):
    assert http_route_keys("DashboardFunction") == set(dashboard_function.route_keys())


def test_portfolio_routes_match_the_handler(portfolio_function):
    assert http_route_keys("PortfolioFunction") == set(portfolio_function.route_keys())


def test_dashboard_routes_are_public():
    for event_name, event in properties("DashboardFunction")["Events"].items():
        assert event["Properties"]["Auth"]["Authorizer"] == "NONE", event_name


def test_portfolio_routes_need_the_jwt_authorizer():
    api_auth = properties("HttpApi")["Auth"]
    assert api_auth["DefaultAuthorizer"] == "CognitoJwt"
    jwt = api_auth["Authorizers"]["CognitoJwt"]["JwtConfiguration"]
    assert jwt["audience"] == [ref("UserPoolClient")]
    for event_name, event in properties("PortfolioFunction")["Events"].items():
        assert "Auth" not in event["Properties"], event_name


def test_api_cors_allows_the_web_client_only():
    cors = properties("HttpApi")["CorsConfiguration"]
    assert cors["AllowOrigins"] == [ref("WebClientOrigin")]
    assert cors["AllowCredentials"] is False


def test_api_has_default_throttling():
    settings = properties("HttpApi")["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == ref("ApiThrottlingRateLimit")
    assert settings["ThrottlingBurstLimit"] == ref("ApiThrottlingBurstLimit")


def test_custom_domain_uses_tls_1_2():
    domain = resources()["ApiDomain"]
    assert domain["Condition"] == "HasApiDomain"
    configuration = domain["Properties"]["DomainNameConfigurations"][0]
    assert configuration["SecurityPolicy"] == "TLS_1_2"


# Roles -------------------------------------------------------------------------


def test_no_role_has_managed_policies_but_monitoring():
    for logical_id, resource in resources().items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        if logical_id == "DatabaseMonitoringRole":
            continue
        assert "ManagedPolicyArns" not in resource["Properties"], logical_id


def test_portfolio_reads_only_the_database_secret():
    role_id = function_role_id("PortfolioFunction")
    secret_statements = [
        statement
        for statement in role_statements(role_id)
        if any(
            action.startswith("secretsmanager:")
            for action in statement_actions(statement)
        )
    ]
    assert len(secret_statements) == 1
    statement = secret_statements[0]
    assert statement_actions(statement) == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == get_att("Database", "MasterUserSecret.SecretArn")
    assert not [action for action in role_actions(role_id) if action.startswith("s3:")]


def test_backup_writes_only_under_snapshots():
    role_id = function_role_id("BackupFunction")
    s3_statements = [
        statement
        for statement in role_statements(role_id)
        if any(action.startswith("s3:") for action in statement_actions(statement))
    ]
    assert s3_statements
    for statement in s3_statements:
        actions = statement_actions(statement)
        if actions == ["s3:ListBucket"]:
            prefix = statement["Condition"]["StringLike"]["s3:prefix"]
            assert prefix == "snapshots/*"
            continue
        assert statement["Resource"] == {"Fn::Sub": "${BackupBucket.Arn}/snapshots/*"}


def test_backup_uses_the_stack_key_through_s3_only():
    role_id = function_role_id("BackupFunction")
    for statement in role_statements(role_id):
        actions = statement_actions(statement)
        if not any(action.startswith("kms:") for action in actions):
            continue
        assert statement["Resource"] == get_att("StackKey", "Arn")
        assert "kms:ViaService" in statement["Condition"]["StringEquals"]


def test_backup_reads_the_database_as_its_own_user():
    role_id = function_role_id("BackupFunction")
    assert "secretsmanager:GetSecretValue" not in role_actions(role_id)
    assert "rds-db:connect" in role_actions(role_id)
    variables = properties("BackupFunction")["Environment"]["Variables"]
    assert variables["DB_IAM_AUTH"] == "true"
    assert variables["DB_USER"] == ref("BackupDatabaseUser")


def test_backup_schedule_retries_into_a_dead_letter_queue():
    backup = properties("BackupFunction")
    schedule = backup["Events"]["Nightly"]
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    queue = get_att("BackupDeadLetterQueue", "Arn")
    assert schedule["Properties"]["DeadLetterConfig"]["Arn"] == queue
    assert backup["DeadLetterQueue"]["TargetArn"] == queue
    assert backup["ReservedConcurrentExecutions"] == 1


def test_backup_verify_schedule_sends_the_job_its_action():
    import json

    from nature_risk.backup.job import VERIFY_ACTION

    verify = properties("BackupFunction")["Events"]["Verify"]
    assert verify["Type"] == "Schedule"
    assert json.loads(verify["Properties"]["Input"]) == {"action": VERIFY_ACTION}
    queue = get_att("BackupDeadLetterQueue", "Arn")
    assert verify["Properties"]["DeadLetterConfig"]["Arn"] == queue


# Bucket, key and database ------------------------------------------------------


def test_backup_bucket_is_hardened():
    bucket = resources()["BackupBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    settings = bucket["Properties"]
    block = settings["PublicAccessBlockConfiguration"]
    for name in (
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ):
        assert block[name] is True, name
    ownership = settings["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    assert ownership == "BucketOwnerEnforced"
    encryption = settings["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    default = encryption["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == get_att("StackKey", "Arn")
    assert settings["VersioningConfiguration"]["Status"] == "Enabled"


def test_snapshots_expire_after_the_retention():
    rules = properties("BackupBucket")["LifecycleConfiguration"]["Rules"]
    snapshot_rules = [rule for rule in rules if rule.get("Prefix") == "snapshots/"]
    assert len(snapshot_rules) == 1
    rule = snapshot_rules[0]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == ref("SnapshotRetentionDays")


def test_stack_key_rotates():
    key = resources()["StackKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


def test_database_settings():
    database = resources()["Database"]
    assert database["DeletionPolicy"] == "Snapshot"
    settings = database["Properties"]
    assert settings["StorageEncrypted"] is True
    assert settings["PubliclyAccessible"] is False
    assert settings["ManageMasterUserPassword"] is True
    assert settings["EnableIAMDatabaseAuthentication"] is True
    assert settings["DeletionProtection"] == ref("DeletionProtection")
    assert settings["MultiAZ"] == ref("DatabaseMultiAz")
    assert settings["BackupRetentionPeriod"] == ref("DatabaseBackupRetentionDays")
    assert load_template()["Parameters"]["DatabaseBackupRetentionDays"]["MinValue"] >= 7


def test_database_is_in_private_subnets():
    subnet_ids = properties("DatabaseSubnetGroup")["SubnetIds"]
    assert subnet_ids == [ref("PrivateSubnetA"), ref("PrivateSubnetB")]
    for subnet in ("PrivateSubnetA", "PrivateSubnetB"):
        assert properties(subnet)["MapPublicIpOnLaunch"] is False


def test_private_subnets_have_no_internet_route():
    for resource in resources().values():
        if resource["Type"] == "AWS::EC2::Route":
            assert resource["Properties"]["RouteTableId"] != ref("PrivateRouteTable")


# Network -----------------------------------------------------------------------


def test_only_three_groups_reach_postgresql():
    sources = {
        tuple(resource["Properties"]["SourceSecurityGroupId"].values())
        for resource in resources().values()
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress"
        and resource["Properties"]["GroupId"] == ref("DatabaseSecurityGroup")
    }
    assert sources == {
        ("PortfolioFunctionSecurityGroup",),
        ("BackupFunctionSecurityGroup",),
        ("BastionSecurityGroup",),
    }
    inline = properties("DatabaseSecurityGroup").get("SecurityGroupIngress", [])
    assert inline == []


def test_functions_in_the_vpc_use_private_subnets():
    for function_id in ("PortfolioFunction", "BackupFunction"):
        subnets = properties(function_id)["VpcConfig"]["SubnetIds"]
        assert subnets == [ref("PrivateSubnetA"), ref("PrivateSubnetB")], function_id


def test_vpc_endpoints_for_s3_and_secrets_manager():
    gateway = properties("S3GatewayEndpoint")
    assert gateway["VpcEndpointType"] == "Gateway"
    assert gateway["RouteTableIds"] == [ref("PrivateRouteTable")]
    interface = properties("SecretsManagerEndpoint")
    assert interface["VpcEndpointType"] == "Interface"
    assert interface["PrivateDnsEnabled"] is True


def test_bastion_admits_ssh_from_the_admin_cidr_only():
    ingress = properties("BastionSecurityGroup")["SecurityGroupIngress"]
    assert len(ingress) == 1
    rule = ingress[0]
    assert (rule["FromPort"], rule["ToPort"]) == (22, 22)
    assert rule["CidrIp"] == ref("AdminCidr")


def test_bastion_turns_password_login_off():
    user_data = properties("Bastion")["UserData"]["Fn::Base64"]
    lines = {line.strip() for line in user_data.splitlines()}
    assert "PasswordAuthentication no" in lines
    assert "KbdInteractiveAuthentication no" in lines
    assert "AuthenticationMethods publickey" in lines


# Linter skips ------------------------------------------------------------------


def test_every_checkov_skip_has_a_reason():
    skips = [
        (logical_id, skip)
        for logical_id, resource in resources().items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert skip["id"].startswith("CKV"), logical_id
        assert len(skip.get("comment", "").split()) >= 8, f"{logical_id} {skip['id']}"


def test_no_suppression_outside_metadata():
    # Inline "checkov:skip=" comments and cfn-lint ignores would bypass the
    # reason check above.
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert "checkov:skip" not in text
    assert "ignore_checks" not in text


def test_cfn_lint_reports_nothing():
    # make lint runs cfn-lint too; this keeps a plain pytest run as strict.
    matches = cfn_lint_api.lint_file(TEMPLATE_PATH)
    assert [str(match) for match in matches] == []


def test_s3_endpoint_allows_the_backup_actions():
    endpoint = properties("S3GatewayEndpoint")["PolicyDocument"]["Statement"]
    allowed = {
        action for statement in endpoint for action in statement_actions(statement)
    }
    backup_s3_actions = {
        action
        for action in role_actions(function_role_id("BackupFunction"))
        if action.startswith("s3:")
    }
    assert backup_s3_actions <= allowed
