"""The backup bucket that template.yaml declares is private, encrypted and expiring.

Snapshots hold every saved portfolio, so the bucket must be as closed as the
database: no public access by any route, objects owned by the bucket owner,
SSE-KMS with the stack's key, versioning, a lifecycle expiry, and a policy
that rejects requests without TLS.
"""

from __future__ import annotations

from typing import Any

from nature_risk.backup.manifest import SNAPSHOTS_PREFIX

from tests.template.template_support import (
    as_list,
    get_att,
    properties,
    ref,
    resources,
)

BUCKET_ID = "BackupBucket"


def _bucket() -> dict[str, Any]:
    return properties(BUCKET_ID)


def _lifecycle_rules() -> list[dict[str, Any]]:
    return _bucket()["LifecycleConfiguration"]["Rules"]


def _rule_prefix(rule: dict[str, Any]) -> str | None:
    if "Prefix" in rule:
        return rule["Prefix"]
    return rule.get("Filter", {}).get("Prefix")


def _snapshot_expiry_rule() -> dict[str, Any]:
    rules = [
        rule
        for rule in _lifecycle_rules()
        if rule["Status"] == "Enabled"
        and _rule_prefix(rule) == SNAPSHOTS_PREFIX
        and "ExpirationInDays" in rule
    ]
    assert len(rules) == 1, "one enabled rule must expire objects under snapshots/"
    return rules[0]


def _bucket_policy_statements() -> list[dict[str, Any]]:
    policies = [
        resource["Properties"]
        for resource in resources().values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        and resource["Properties"]["Bucket"] == ref(BUCKET_ID)
    ]
    assert len(policies) == 1, "the backup bucket must have one bucket policy"
    return as_list(policies[0]["PolicyDocument"]["Statement"])


def test_bucket_blocks_all_public_access() -> None:
    block = _bucket()["PublicAccessBlockConfiguration"]

    assert block["BlockPublicAcls"] is True
    assert block["BlockPublicPolicy"] is True
    assert block["IgnorePublicAcls"] is True
    assert block["RestrictPublicBuckets"] is True


def test_bucket_owner_enforced() -> None:
    rules = _bucket()["OwnershipControls"]["Rules"]

    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bucket_encrypts_with_stack_key() -> None:
    configuration = _bucket()["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = configuration[0]["ServerSideEncryptionByDefault"]

    assert len(configuration) == 1
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == get_att("StackKey", "Arn")


def test_bucket_is_versioned() -> None:
    assert _bucket()["VersioningConfiguration"] == {"Status": "Enabled"}


def test_snapshots_expire_after_retention() -> None:
    rule = _snapshot_expiry_rule()

    assert rule["ExpirationInDays"] == ref("SnapshotRetentionDays")


def test_expired_versions_do_not_linger() -> None:
    # With versioning on, an expiry only adds a delete marker; the data stays
    # in a noncurrent version until this rule removes it.
    rule = _snapshot_expiry_rule()
    noncurrent = rule["NoncurrentVersionExpiration"]

    assert isinstance(noncurrent["NoncurrentDays"], int)
    assert noncurrent["NoncurrentDays"] <= 30


def test_incomplete_uploads_are_aborted() -> None:
    days = [
        rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        for rule in _lifecycle_rules()
        if rule["Status"] == "Enabled"
        and "AbortIncompleteMultipartUpload" in rule
        and _rule_prefix(rule) in (None, "", SNAPSHOTS_PREFIX)
    ]

    assert days, "a lifecycle rule must abort incomplete multipart uploads"
    assert min(days) <= 7


def test_policy_denies_requests_without_tls() -> None:
    denials = [
        statement
        for statement in _bucket_policy_statements()
        if statement["Effect"] == "Deny"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        in ("false", False)
    ]

    assert len(denials) == 1
    statement = denials[0]
    assert statement["Principal"] == "*"
    assert as_list(statement["Action"]) == ["s3:*"]
    denied = as_list(statement["Resource"])
    assert get_att(BUCKET_ID, "Arn") in denied
    assert {"Fn::Sub": "${BackupBucket.Arn}/*"} in denied


def test_function_gets_bucket_and_key() -> None:
    variables = properties("BackupFunction")["Environment"]["Variables"]

    assert variables["BACKUP_BUCKET"] == ref(BUCKET_ID)
    assert variables["BACKUP_KMS_KEY_ARN"] == get_att("StackKey", "Arn")
