"""A portfolio deleted after a snapshot stays deleted when that snapshot is restored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nature_risk.backup.errors import SnapshotCorrupt
from nature_risk.backup.manifest import manifest_key
from nature_risk.backup.reader import latest_complete_snapshot, load_manifest
from nature_risk.backup.restore import RestoreOptions, restore_snapshot
from nature_risk.backup.snapshot import take_snapshot
from nature_risk.storage import portfolios as repository

from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BackupBucket,
    ScratchDatabases,
    bucket_fixture,
    save_portfolio,
    scratch_fixture,
    table_rows,
)

OLD_SNAPSHOT = "20261203T023000Z"
NEW_SNAPSHOT = "20261204T023000Z"
OWNER = "user-1"
HOLDINGS = [{"row": 2, "code": "C_10_101", "amount": 10.0}]


def _save(connection: Any, name: str) -> Any:
    return save_portfolio(connection, name, HOLDINGS, owner=OWNER)


def _delete(connection: Any, portfolio_id: Any) -> None:
    connection.run("START TRANSACTION")
    repository.delete_portfolio(connection, OWNER, portfolio_id)
    connection.run("COMMIT")


def _ids(connection: Any, table: str, column: str = "id") -> set[str]:
    rows = connection.run(f"SELECT {column}::text FROM {table}")
    return {row[0] for row in rows}


@pytest.fixture
def deleted_after_snapshot(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> tuple[Any, str, str]:
    """A source database with two portfolios in the old snapshot, one of which
    was deleted afterwards; returns (source, kept id, deleted id)."""
    source = scratch.connect(scratch.create(migrated=True))
    kept = _save(source, "Kept")
    deleted = _save(source, "Deleted later")
    take_snapshot(source, bucket.s3, bucket.target(), OLD_SNAPSHOT)
    _delete(source, deleted.id)
    return source, str(kept.id), str(deleted.id)


def test_current_database_deletions_apply(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, kept_id, deleted_id = deleted_after_snapshot
    target = scratch.connect(scratch.create(migrated=True))

    result = restore_snapshot(
        target, bucket.s3, bucket.name, OLD_SNAPSHOT, current_database=source
    )

    assert _ids(target, "portfolios") == {kept_id}
    assert _ids(target, "holdings", "portfolio_id") == {kept_id}
    assert _ids(target, "deleted_portfolios") == {deleted_id}
    assert result.portfolios_deleted == 1
    assert result.deletion_sources == ["current database"]


def test_newer_snapshot_deletions_apply(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, kept_id, deleted_id = deleted_after_snapshot
    take_snapshot(source, bucket.s3, bucket.target(), NEW_SNAPSHOT)
    # The database is lost: only the snapshots remain.
    source.close()
    target = scratch.connect(scratch.create(migrated=True))

    result = restore_snapshot(target, bucket.s3, bucket.name, OLD_SNAPSHOT)

    assert _ids(target, "portfolios") == {kept_id}
    assert _ids(target, "holdings", "portfolio_id") == {kept_id}
    assert _ids(target, "deleted_portfolios") == {deleted_id}
    assert result.deletion_sources == [f"snapshot {NEW_SNAPSHOT}"]


def test_deletion_times_are_kept(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, _, _ = deleted_after_snapshot
    target = scratch.connect(scratch.create(migrated=True))

    restore_snapshot(
        target, bucket.s3, bucket.name, OLD_SNAPSHOT, current_database=source
    )

    assert table_rows(target, "deleted_portfolios") == table_rows(
        source, "deleted_portfolios"
    )


def test_overwrite_keeps_target_deletions(
    deleted_after_snapshot: tuple[Any, str, str],
    bucket: BackupBucket,
) -> None:
    # Restoring the old snapshot over the live database itself.
    source, kept_id, deleted_id = deleted_after_snapshot

    restore_snapshot(
        source,
        bucket.s3,
        bucket.name,
        OLD_SNAPSHOT,
        options=RestoreOptions(overwrite=True),
    )

    assert _ids(source, "portfolios") == {kept_id}
    assert _ids(source, "deleted_portfolios") == {deleted_id}


def test_damaged_newer_snapshot_stops_restore(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, kept_id, _ = deleted_after_snapshot
    newer = take_snapshot(source, bucket.s3, bucket.target(), NEW_SNAPSHOT).manifest
    entry = newer.table("deleted_portfolios")
    assert entry is not None
    bucket.s3.delete_object(Bucket=bucket.name, Key=entry.key)
    target_name = scratch.create(migrated=True)
    target = scratch.connect(target_name)

    with pytest.raises(SnapshotCorrupt, match="--ignore-snapshot"):
        restore_snapshot(target, bucket.s3, bucket.name, OLD_SNAPSHOT)
    restore_snapshot(
        target,
        bucket.s3,
        bucket.name,
        OLD_SNAPSHOT,
        options=RestoreOptions(ignore_snapshots=frozenset({NEW_SNAPSHOT})),
        current_database=source,
    )

    assert _ids(target, "portfolios") == {kept_id}


def test_incomplete_newer_snapshot_is_skipped(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, _, _ = deleted_after_snapshot
    take_snapshot(source, bucket.s3, bucket.target(), NEW_SNAPSHOT)
    bucket.s3.delete_object(Bucket=bucket.name, Key=manifest_key(NEW_SNAPSHOT))
    target = scratch.connect(scratch.create(migrated=True))

    result = restore_snapshot(target, bucket.s3, bucket.name, OLD_SNAPSHOT)

    # Without a manifest nothing in the prefix is trusted, so the deletion is
    # not known and the portfolio comes back: the current database is needed.
    assert result.deletion_sources == []
    assert len(_ids(target, "portfolios")) == 2


def test_newer_manifest_without_deletions_stops(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, _, _ = deleted_after_snapshot
    take_snapshot(source, bucket.s3, bucket.target(), NEW_SNAPSHOT)
    key = manifest_key(NEW_SNAPSHOT)
    data = json.loads(bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read())
    data["tables"] = [
        entry for entry in data["tables"] if entry["name"] != "deleted_portfolios"
    ]
    bucket.s3.put_object(Bucket=bucket.name, Key=key, Body=json.dumps(data).encode())
    target_name = scratch.create(migrated=False)
    target = scratch.connect(target_name)

    with pytest.raises(SnapshotCorrupt) as raised:
        restore_snapshot(target, bucket.s3, bucket.name, OLD_SNAPSHOT)

    assert f"snapshot {NEW_SNAPSHOT}" in raised.value.message
    assert "lacks table deleted_portfolios" in raised.value.message
    assert "--ignore-snapshot" in raised.value.message


def test_later_read_deletions_apply(
    scratch: ScratchDatabases, bucket: BackupBucket
) -> None:
    # A manual snapshot at 02:40, then the 02:30 scheduled event retried
    # later: its id sorts first, but its data was read after the deletion.
    manual_id = "20261203T024000Z"
    retried_event_id = "20261203T023000Z"
    source = scratch.connect(scratch.create(migrated=True))
    kept = _save(source, "Kept")
    deleted = _save(source, "Deleted between the snapshots")
    manual = take_snapshot(source, bucket.s3, bucket.target(), manual_id).manifest
    _delete(source, deleted.id)
    retried = take_snapshot(source, bucket.s3, bucket.target(), retried_event_id)
    assert retried.manifest.read_at > manual.read_at
    target = scratch.connect(scratch.create(migrated=False))

    result = restore_snapshot(target, bucket.s3, bucket.name, manual_id)

    assert result.deletion_sources == [f"snapshot {retried_event_id}"]
    assert _ids(target, "portfolios") == {str(kept.id)}
    assert latest_complete_snapshot(bucket.s3, bucket.name) == retried_event_id


def test_earlier_read_deletions_ignored(
    deleted_after_snapshot: tuple[Any, str, str],
    scratch: ScratchDatabases,
    bucket: BackupBucket,
) -> None:
    source, kept_id, deleted_id = deleted_after_snapshot
    newer = take_snapshot(source, bucket.s3, bucket.target(), NEW_SNAPSHOT).manifest
    target = scratch.connect(scratch.create(migrated=False))

    result = restore_snapshot(target, bucket.s3, bucket.name, NEW_SNAPSHOT)

    # The old snapshot was read first, so it is no source of deletions.
    assert result.deletion_sources == []
    assert newer.read_at > load_manifest(bucket.s3, bucket.name, OLD_SNAPSHOT).read_at
    assert _ids(target, "portfolios") == {kept_id}
    assert _ids(target, "deleted_portfolios") == {deleted_id}
