"""Verification and restore reject damaged, incomplete and unknown snapshots."""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Callable
from typing import Any

import pytest
from nature_risk.backup.__main__ import main
from nature_risk.backup.errors import (
    DatabaseNotEmpty,
    SnapshotCorrupt,
    SnapshotIncomplete,
    SnapshotNotFound,
    UnknownSchemaVersion,
)
from nature_risk.backup.manifest import Manifest, manifest_key
from nature_risk.backup.reader import list_snapshots, load_manifest, verify_snapshot
from nature_risk.backup.restore import RestoreOptions, restore_snapshot
from nature_risk.backup.snapshot import take_snapshot

from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BackupBucket,
    ScratchDatabases,
    bucket_fixture,
    save_portfolio,
    scratch_fixture,
    table_rows,
)

SNAPSHOT_ID = "20261203T023000Z"
HOLDINGS = [{"row": row, "code": "C_10_101", "amount": 10.0} for row in range(2, 40)]


def _saved_source(scratch: ScratchDatabases, portfolios: int = 3) -> Any:
    source = scratch.connect(scratch.create(migrated=True))
    for number in range(portfolios):
        save_portfolio(source, f"Portfolio {number}", HOLDINGS)
    return source


@pytest.fixture
def snapshot(scratch: ScratchDatabases, bucket: BackupBucket) -> Manifest:
    source = _saved_source(scratch)
    return take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID).manifest


def _holdings_key(manifest: Manifest) -> str:
    entry = manifest.table("holdings")
    assert entry is not None
    return entry.key


def _rewrite(bucket: BackupBucket, key: str, change: Callable[[bytes], bytes]) -> None:
    body = bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    bucket.s3.put_object(
        Bucket=bucket.name,
        Key=key,
        Body=change(body),
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=bucket.kms_key_arn,
    )


def _flip_last_byte(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 0xFF])


def test_verify_accepts_intact_snapshot(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    result = verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)

    assert result.objects == len(snapshot.tables)
    assert result.bytes_checked == snapshot.total_size


def test_verify_rejects_changed_object(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    _rewrite(bucket, _holdings_key(snapshot), _flip_last_byte)

    with pytest.raises(SnapshotCorrupt, match="SHA-256 of table holdings"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_verify_rejects_truncated_object(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    _rewrite(bucket, _holdings_key(snapshot), lambda body: body[: len(body) // 2])

    with pytest.raises(SnapshotCorrupt, match="table holdings has .* bytes"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_verify_rejects_missing_object(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    bucket.s3.delete_object(Bucket=bucket.name, Key=_holdings_key(snapshot))

    with pytest.raises(SnapshotCorrupt, match="table holdings is missing"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_verify_rejects_missing_manifest(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    bucket.s3.delete_object(Bucket=bucket.name, Key=manifest_key(SNAPSHOT_ID))

    with pytest.raises(SnapshotIncomplete, match="has no manifest"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)
    listed = list_snapshots(bucket.s3, bucket.name)
    assert [(item.snapshot_id, item.complete) for item in listed] == [
        (SNAPSHOT_ID, False)
    ]


def test_verify_rejects_unknown_snapshot(bucket: BackupBucket) -> None:
    with pytest.raises(SnapshotNotFound, match="does not exist"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_verify_rejects_row_count_mismatch(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    tables = [
        dataclasses.replace(entry, rows=entry.rows + 1)
        if entry.name == "holdings"
        else entry
        for entry in snapshot.tables
    ]
    changed = dataclasses.replace(snapshot, tables=tables)
    bucket.s3.put_object(
        Bucket=bucket.name, Key=manifest_key(SNAPSHOT_ID), Body=changed.to_json()
    )

    with pytest.raises(SnapshotCorrupt, match="table holdings has 114 rows"):
        verify_snapshot(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_verify_rejects_invalid_manifest(
    snapshot: Manifest, bucket: BackupBucket
) -> None:
    bucket.s3.put_object(
        Bucket=bucket.name, Key=manifest_key(SNAPSHOT_ID), Body=b"{not json"
    )

    with pytest.raises(SnapshotCorrupt, match="manifest is not a valid"):
        load_manifest(bucket.s3, bucket.name, SNAPSHOT_ID)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("changed", "SHA-256 of table holdings"),
        ("truncated", "table holdings has .* bytes"),
        ("missing", "table holdings is missing"),
        ("no manifest", "has no manifest"),
    ],
)
def test_restore_rejects_damaged_snapshot(
    snapshot: Manifest,
    bucket: BackupBucket,
    scratch: ScratchDatabases,
    damage: str,
    message: str,
) -> None:
    key = _holdings_key(snapshot)
    if damage == "changed":
        _rewrite(bucket, key, _flip_last_byte)
    elif damage == "truncated":
        _rewrite(bucket, key, lambda body: body[:-10])
    elif damage == "missing":
        bucket.s3.delete_object(Bucket=bucket.name, Key=key)
    else:
        bucket.s3.delete_object(Bucket=bucket.name, Key=manifest_key(SNAPSHOT_ID))
    target_name = scratch.create(migrated=True)
    target = scratch.connect(target_name)

    with pytest.raises((SnapshotCorrupt, SnapshotIncomplete), match=message):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)
    check = scratch.connect(target_name)
    assert table_rows(check, "portfolios") == []
    assert table_rows(check, "holdings") == []


def test_restore_without_verify_rolls_back_on_changed_object(
    snapshot: Manifest, bucket: BackupBucket, scratch: ScratchDatabases
) -> None:
    # Same size, other bytes: only the SHA-256 check at the end of the stream
    # catches it, after COPY has already received rows.
    def change_a_row(body: bytes) -> bytes:
        text = gzip.decompress(body).replace(b'"amount": 10.0', b'"amount": 99.0', 1)
        return gzip.compress(text)

    _rewrite(bucket, _holdings_key(snapshot), change_a_row)
    changed = bucket.s3.head_object(Bucket=bucket.name, Key=_holdings_key(snapshot))
    entry = snapshot.table("holdings")
    assert entry is not None
    tables = [
        dataclasses.replace(item, size=changed["ContentLength"])
        if item.name == "holdings"
        else item
        for item in snapshot.tables
    ]
    bucket.s3.put_object(
        Bucket=bucket.name,
        Key=manifest_key(SNAPSHOT_ID),
        Body=dataclasses.replace(snapshot, tables=tables).to_json(),
    )
    target_name = scratch.create(migrated=True)
    target = scratch.connect(target_name)

    with pytest.raises(SnapshotCorrupt, match="SHA-256 of table holdings"):
        restore_snapshot(
            target,
            bucket.s3,
            bucket.name,
            SNAPSHOT_ID,
            options=RestoreOptions(verify_first=False),
        )
    check = scratch.connect(target_name)
    assert table_rows(check, "portfolios") == []
    assert table_rows(check, "holdings") == []


def test_restore_rejects_unknown_schema_version(
    snapshot: Manifest, bucket: BackupBucket, scratch: ScratchDatabases
) -> None:
    future = dataclasses.replace(snapshot, schema_version=9999)
    bucket.s3.put_object(
        Bucket=bucket.name, Key=manifest_key(SNAPSHOT_ID), Body=future.to_json()
    )
    target = scratch.connect(scratch.create(migrated=False))

    with pytest.raises(UnknownSchemaVersion, match="schema version 9999"):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)
    tables = target.run(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
    )
    assert tables[0][0] == 0


def test_restore_rejects_non_empty_database(
    snapshot: Manifest, bucket: BackupBucket, scratch: ScratchDatabases
) -> None:
    target_name = scratch.create(migrated=True)
    target = _saved_source_in(scratch, target_name)
    before = table_rows(target, "portfolios")

    with pytest.raises(DatabaseNotEmpty, match="rows in holdings, portfolios"):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)
    assert table_rows(target, "portfolios") == before


def test_restore_overwrite_replaces_rows(
    snapshot: Manifest, bucket: BackupBucket, scratch: ScratchDatabases
) -> None:
    target_name = scratch.create(migrated=True)
    target = _saved_source_in(scratch, target_name)
    stale = {row[0] for row in target.run("SELECT id FROM portfolios")}

    result = restore_snapshot(
        target,
        bucket.s3,
        bucket.name,
        SNAPSHOT_ID,
        options=RestoreOptions(overwrite=True),
    )
    now = {row[0] for row in target.run("SELECT id FROM portfolios")}

    assert result.rows["portfolios"] == 3
    assert len(now) == 3
    assert not now & stale


def _saved_source_in(scratch: ScratchDatabases, name: str) -> Any:
    connection = scratch.connect(name)
    save_portfolio(
        connection,
        "Existing",
        HOLDINGS[:1],
        owner="user-2",
        module="mining",
        currency="USD",
    )
    return connection


def test_cli_verify_reports_each_outcome(
    snapshot: Manifest,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)

    ok = main(["verify", "latest", "--no-progress"])
    ok_output = capsys.readouterr()
    _rewrite(bucket, _holdings_key(snapshot), _flip_last_byte)
    failed = main(["verify", SNAPSHOT_ID, "--no-progress"])
    failed_output = capsys.readouterr()

    assert ok == 0
    assert f"snapshot {SNAPSHOT_ID} verified" in ok_output.out
    assert failed == 1
    assert "SHA-256 of table holdings" in failed_output.err


def test_cli_list_marks_incomplete_snapshots(
    snapshot: Manifest,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    bucket.s3.put_object(
        Bucket=bucket.name, Key="snapshots/20261204T023000Z/abc/holdings.copy.gz"
    )

    status = main(["list"])
    lines = capsys.readouterr().out.splitlines()

    assert status == 0
    assert lines[1].startswith(f"{SNAPSHOT_ID}\tcomplete\t")
    assert lines[1].endswith(f"\t{snapshot.total_rows}\t{snapshot.total_size}")
    assert lines[2] == "20261204T023000Z\tincomplete\t-\t-\t-\t-"


def test_cli_verify_all_skips_incomplete(
    snapshot: Manifest,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    incomplete_id = "20261204T023000Z"
    bucket.s3.put_object(
        Bucket=bucket.name, Key=f"snapshots/{incomplete_id}/abc/holdings.copy.gz"
    )

    status = main(["verify", "--all", "--no-progress"])
    output = capsys.readouterr()

    assert status == 0
    assert f"snapshot {SNAPSHOT_ID} verified" in output.out
    assert f"snapshot {incomplete_id} skipped: incomplete" in output.out
    assert "FAILED" not in output.err


def test_cli_verify_all_fails_on_damage(
    snapshot: Manifest,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    _rewrite(bucket, _holdings_key(snapshot), _flip_last_byte)

    status = main(["verify", "--all", "--no-progress"])
    output = capsys.readouterr()

    assert status == 1
    assert "SHA-256 of table holdings" in output.err


def test_cli_verify_warns_of_unnamed_objects(
    snapshot: Manifest,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    stray = f"snapshots/{SNAPSHOT_ID}/other/holdings.copy.gz"
    bucket.s3.put_object(Bucket=bucket.name, Key=stray, Body=b"not named")

    status = main(["verify", SNAPSHOT_ID, "--no-progress"])
    output = capsys.readouterr()

    assert status == 0
    assert f"snapshot {SNAPSHOT_ID} verified" in output.out
    assert "its manifest does not name 1 object(s)" in output.err
    assert stray in output.err
