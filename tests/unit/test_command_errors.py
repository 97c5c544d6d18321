"""Operator commands report a bad setting or a failed AWS call on one line."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from nature_risk.backup.__main__ import main as backup_main
from nature_risk.storage import migrations

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def test_migrations_missing_host_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:db")
    monkeypatch.delenv("DB_HOST", raising=False)

    status = migrations.main()
    error = capsys.readouterr().err

    assert status == 1
    assert error.startswith("ERROR: DB_HOST is not set")
    assert error.count("\n") == 1


def test_backup_without_credentials_is_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # A fresh default session, no credential file and no instance metadata,
    # so botocore stops before it connects. Should it find credentials all
    # the same, the endpoint is a closed local port.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("BOTO_CONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("BACKUP_BUCKET", "snapshots")

    status = backup_main(["list"])
    error = capsys.readouterr().err

    assert status == 1
    assert error == (
        "ERROR: the S3 request failed before S3 responded: "
        "Unable to locate credentials\n"
    )


def test_backup_missing_bucket_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BACKUP_BUCKET", "snapshots")

    with mock_aws():
        status = backup_main(["list"])
    error = capsys.readouterr().err

    assert status == 1
    assert error == "ERROR: S3 rejected the request (NoSuchBucket)\n"
