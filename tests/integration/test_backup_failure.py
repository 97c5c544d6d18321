"""A failed snapshot leaves no manifest, no open upload and no stray object."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from nature_risk.backup.errors import BackupError
from nature_risk.backup.manifest import Manifest, manifest_key
from nature_risk.backup.reader import list_snapshots, verify_snapshot
from nature_risk.backup.snapshot import take_snapshot
from nature_risk.observability import InvocationFailed

from infra.local.postgres import PostgresServer
from tests.functions import load_function
from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BUCKET,
    BackupBucket,
    ScratchDatabases,
    bucket_fixture,
    save_portfolio,
    scratch_fixture,
)
from tests.integration.conftest import AWS_REGION

SNAPSHOT_ID = "20261203T023000Z"
# A name that must never appear in a log line.
PRIVATE_NAME = "Secret Holdings Ltd 4711"


def _source_with_big_table(scratch: ScratchDatabases) -> Any:
    source = scratch.connect(scratch.create(migrated=True))
    source.run("CREATE TABLE filler (id integer PRIMARY KEY, payload text)")
    source.run(
        "INSERT INTO filler SELECT i, md5(i::text) || md5((-i)::text) "
        "|| md5((i + 0.5)::text) FROM generate_series(1, 300000) i"
    )
    return source


def _fail_on_call(client: Any, operation: str, failing_call: int) -> list[int]:
    """Make the client's ``failing_call``-th call of ``operation`` fail as a
    dropped connection would; return the list that counts the calls."""
    calls: list[int] = []

    def maybe_fail(**_: Any) -> None:
        calls.append(1)
        if len(calls) == failing_call:
            raise ConnectionClosedError(endpoint_url="https://s3.example.invalid")

    client.meta.events.register(f"before-call.s3.{operation}", maybe_fail)
    return calls


def test_failed_part_upload_leaves_nothing(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = _source_with_big_table(scratch)
    # Empty tables upload one part each; the filler table needs several, so
    # the failure hits it after its first part.
    calls = _fail_on_call(bucket.s3, "UploadPart", failing_call=5)

    with pytest.raises(ConnectionClosedError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert len(calls) >= 5
    assert bucket.open_uploads() == []
    assert bucket.keys() == []
    assert list_snapshots(bucket.s3, bucket.name) == []


def test_failed_table_start_removes_finished_objects(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = _source_with_big_table(scratch)
    _fail_on_call(bucket.s3, "CreateMultipartUpload", failing_call=3)

    with pytest.raises(ConnectionClosedError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert bucket.open_uploads() == []
    assert bucket.keys() == []


def test_failed_manifest_write_leaves_no_manifest(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))
    _fail_on_call(bucket.s3, "PutObject", failing_call=1)

    with pytest.raises(ConnectionClosedError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert bucket.open_uploads() == []
    assert bucket.keys() == []


def test_failed_snapshot_then_retry_succeeds(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = _source_with_big_table(scratch)
    _fail_on_call(bucket.s3, "UploadPart", failing_call=5)
    with pytest.raises(ConnectionClosedError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    retried = take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert retried.created
    assert bucket.open_uploads() == []
    assert {entry.name for entry in retried.manifest.tables} >= {"filler"}
    manifest_count = [key for key in bucket.keys() if key.endswith("manifest.json")]
    assert manifest_count == [manifest_key(SNAPSHOT_ID)]


def test_concurrent_attempt_keeps_first_manifest(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))
    winner = Manifest(
        snapshot_id=SNAPSHOT_ID,
        created_at="2026-12-03T02:30:01+00:00",
        schema_version=1,
        tables=[],
    )
    other_client = boto3.client("s3", region_name=AWS_REGION)

    def other_attempt_finishes_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"] == manifest_key(SNAPSHOT_ID):
            other_client.put_object(
                Bucket=BUCKET, Key=params["Key"], Body=winner.to_json()
            )

    bucket.s3.meta.events.register(
        "provide-client-params.s3.PutObject", other_attempt_finishes_first
    )

    result = take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert not result.created
    assert result.manifest == winner
    assert bucket.keys() == [manifest_key(SNAPSHOT_ID)]
    assert bucket.open_uploads() == []


def _wrap_manifest_put(bucket: BackupBucket, wrapper: Any) -> None:
    """Route the manifest's PutObject through ``wrapper(real_put, params)``."""
    real_put = bucket.s3.put_object

    def put_object(**params: Any) -> Any:
        if params.get("Key") == manifest_key(SNAPSHOT_ID):
            return wrapper(real_put, params)
        return real_put(**params)

    bucket.s3.put_object = put_object


def test_retried_manifest_write_keeps_snapshot(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))
    save_portfolio(source, "Retried", [{"row": 2, "code": "A", "amount": 1.0}])

    def stored_then_retried(real_put: Any, params: dict[str, Any]) -> Any:
        # The first request is stored but its response is lost, so botocore
        # sends it again and If-None-Match: * returns 412.
        real_put(**params)
        return real_put(**params)

    _wrap_manifest_put(bucket, stored_then_retried)

    result = take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert result.created
    data_keys = [key for key in bucket.keys() if key.endswith(".copy.gz")]
    assert sorted(data_keys) == sorted(entry.key for entry in result.manifest.tables)
    verified = verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)
    assert verified.objects == len(result.manifest.tables)


def test_stored_manifest_then_error_keeps_objects(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))

    def stored_then_timeout(real_put: Any, params: dict[str, Any]) -> Any:
        real_put(**params)
        raise ReadTimeoutError(endpoint_url="https://s3.example.invalid")

    _wrap_manifest_put(bucket, stored_then_timeout)

    with pytest.raises(ReadTimeoutError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    verified = verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)
    assert verified.objects > 0
    assert bucket.open_uploads() == []


def test_manifest_conflict_without_manifest_raises(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))

    def conflict(real_put: Any, params: dict[str, Any]) -> Any:
        error = {"Code": "ConditionalRequestConflict", "Message": "in flight"}
        raise ClientError({"Error": error}, "PutObject")

    _wrap_manifest_put(bucket, conflict)

    with pytest.raises(BackupError) as raised:
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert "conflicted" in raised.value.message
    assert "retry the snapshot" in raised.value.message
    assert bucket.keys() == []
    assert bucket.open_uploads() == []


def test_manifest_conflict_with_other_manifest(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = scratch.connect(scratch.create(migrated=True))
    winner = Manifest(
        snapshot_id=SNAPSHOT_ID,
        created_at="2026-12-03T02:30:01+00:00",
        schema_version=1,
        tables=[],
    )

    def other_write_lands(real_put: Any, params: dict[str, Any]) -> Any:
        real_put(Bucket=BUCKET, Key=params["Key"], Body=winner.to_json())
        error = {"Code": "ConditionalRequestConflict", "Message": "in flight"}
        raise ClientError({"Error": error}, "PutObject")

    _wrap_manifest_put(bucket, other_write_lands)

    result = take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert not result.created
    assert result.manifest == winner
    assert bucket.keys() == [manifest_key(SNAPSHOT_ID)]


def test_lost_complete_response_leaves_no_object(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    source = _source_with_big_table(scratch)
    real_complete = bucket.s3.complete_multipart_upload
    calls: list[str] = []

    def complete_then_lose(**params: Any) -> Any:
        calls.append(params["Key"])
        result = real_complete(**params)
        if len(calls) == 2:
            # S3 completed the object, but its response never arrived.
            raise ReadTimeoutError(endpoint_url="https://s3.example.invalid")
        return result

    bucket.s3.complete_multipart_upload = complete_then_lose

    with pytest.raises(ReadTimeoutError):
        take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)

    assert len(calls) == 2
    assert bucket.open_uploads() == []
    assert bucket.keys() == []


@pytest.fixture
def backup_function(
    database_secret: str,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    monkeypatch.setenv("BACKUP_KMS_KEY_ARN", bucket.kms_key_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "backup")
    module = load_function("backup", fresh=True)
    # The service's log handler keeps the stream it was created with, so the
    # test points it at a buffer of its own.
    handler = module.logger.registered_handler
    previous = handler.setStream(io.StringIO())
    try:
        yield module
    finally:
        handler.setStream(previous)


def _log_lines(module: Any) -> list[dict[str, Any]]:
    output = module.logger.registered_handler.stream.getvalue()
    return [json.loads(line) for line in output.splitlines()]


def _save_private_portfolio(server: PostgresServer) -> None:
    connection = server.connect()
    try:
        holdings = [{"row": 2, "code": "C_10_101", "amount": 5.0}]
        save_portfolio(connection, PRIVATE_NAME, holdings)
    finally:
        connection.close()


SCHEDULE_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-03T02:30:00Z",
    "region": AWS_REGION,
    "resources": ["arn:aws:events:eu-west-1:123456789012:rule/nightly"],
    "detail": {},
}


def test_handler_writes_snapshot(
    backup_function: Any,
    clean_database: PostgresServer,
    bucket: BackupBucket,
) -> None:
    _save_private_portfolio(clean_database)

    summary = backup_function.lambda_handler(SCHEDULE_EVENT, None)
    verified = backup_function.lambda_handler({"action": "verify"}, None)
    logs = json.dumps(_log_lines(backup_function))

    assert summary["snapshot_id"] == SNAPSHOT_ID
    assert summary["created"] is True
    assert summary["rows"] >= 2
    assert verified["snapshot_id"] == SNAPSHOT_ID
    assert verified["objects"] == summary["objects"]
    assert PRIVATE_NAME not in logs


def test_handler_failure_logs_class_only(
    backup_function: Any,
    clean_database: PostgresServer,
    bucket: BackupBucket,
) -> None:
    _save_private_portfolio(clean_database)
    _fail_on_call(backup_function.S3, "UploadPart", failing_call=2)

    with pytest.raises(InvocationFailed):
        backup_function.lambda_handler(SCHEDULE_EVENT, None)
    lines = _log_lines(backup_function)

    errors = [line for line in lines if line.get("error_class")]
    assert {line["error_class"] for line in errors} == {"ConnectionClosedError"}
    assert not any("example.invalid" in json.dumps(line) for line in lines)
    assert not any(PRIVATE_NAME in json.dumps(line) for line in lines)
    assert bucket.open_uploads() == []
    assert bucket.keys() == []
