"""The restore checks an edited manifest against the schema and leaves a
rejected target unchanged."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nature_risk.backup.errors import DatabaseNotEmpty, SnapshotCorrupt
from nature_risk.backup.manifest import manifest_key
from nature_risk.backup.reader import load_manifest
from nature_risk.backup.restore import restore_snapshot
from nature_risk.backup.snapshot import take_snapshot
from nature_risk.storage.migrations import DEFAULT_MIGRATIONS_DIR, apply_migrations

from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BackupBucket,
    ScratchDatabases,
    bucket_fixture,
    save_portfolio,
    scratch_fixture,
    table_rows,
)

SNAPSHOT_ID = "20261203T023000Z"
HOLDINGS = [
    {"row": 2, "code": "C_10_101", "amount": 1.0},
    {"row": 3, "code": "C_10_102", "amount": 2.0},
]


@pytest.fixture
def snapshot(scratch: ScratchDatabases, bucket: BackupBucket) -> None:
    source = scratch.connect(scratch.create(migrated=True))
    save_portfolio(source, "Manifest checks", HOLDINGS)
    take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)


def _edit_manifest(
    bucket: BackupBucket, change: Callable[[dict[str, Any]], None]
) -> None:
    key = manifest_key(SNAPSHOT_ID)
    data = json.loads(bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"].read())
    change(data)
    bucket.s3.put_object(Bucket=bucket.name, Key=key, Body=json.dumps(data).encode())


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in data["tables"] if entry["name"] == name)


def _drop_holdings(data: dict[str, Any]) -> None:
    data["tables"] = [entry for entry in data["tables"] if entry["name"] != "holdings"]


def _swap_owner_and_name(data: dict[str, Any]) -> None:
    columns = _table(data, "portfolios")["columns"]
    first, second = columns.index("owner_sub"), columns.index("name")
    columns[first], columns[second] = columns[second], columns[first]


def _drop_a_column(data: dict[str, Any]) -> None:
    _table(data, "portfolios")["columns"].remove("options")


def _list_holdings_twice(data: dict[str, Any]) -> None:
    data["tables"].append(dict(_table(data, "holdings")))


def _lower_schema_version(data: dict[str, Any]) -> None:
    data["schema_version"] = 1


def _table_count(connection: Any) -> int:
    rows = connection.run(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
    )
    return rows[0][0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop_holdings, "does not match schema version 2: it lacks table holdings"),
        (_swap_owner_and_name, "columns of table portfolios differ"),
        (_drop_a_column, "columns of table portfolios differ"),
        (_list_holdings_twice, "lists table holdings twice"),
        (_lower_schema_version, "does not match schema version 1"),
    ],
)
def test_edited_manifest_rejected(
    snapshot: None,
    bucket: BackupBucket,
    scratch: ScratchDatabases,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    _edit_manifest(bucket, change)
    name = scratch.create(migrated=False)
    target = scratch.connect(name)

    with pytest.raises(SnapshotCorrupt, match=message):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)

    # The migrations ran inside the rolled-back transaction, so the new
    # database contains no table at all.
    check = scratch.connect(name)
    assert _table_count(check) == 0


def test_extra_manifest_table_rejected(
    snapshot: None, bucket: BackupBucket, scratch: ScratchDatabases
) -> None:
    def add_unknown_table(data: dict[str, Any]) -> None:
        extra = dict(_table(data, "holdings"))
        extra["name"] = "unknown_table"
        data["tables"].append(extra)

    _edit_manifest(bucket, add_unknown_table)
    target = scratch.connect(scratch.create(migrated=False))

    with pytest.raises(SnapshotCorrupt, match="lists table unknown_table"):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)


def test_dot_dot_key_rejected(snapshot: None, bucket: BackupBucket) -> None:
    def point_outside(data: dict[str, Any]) -> None:
        entry = _table(data, "holdings")
        entry["key"] = f"snapshots/{SNAPSHOT_ID}/../20261204T023000Z/holdings.copy.gz"

    _edit_manifest(bucket, point_outside)

    with pytest.raises(SnapshotCorrupt, match="lies outside the snapshot prefix"):
        load_manifest(bucket.s3, bucket.name, SNAPSHOT_ID)


def test_rejected_target_keeps_its_schema(
    snapshot: None,
    bucket: BackupBucket,
    scratch: ScratchDatabases,
    tmp_path: Path,
) -> None:
    # A live database still at schema version 1, holding one portfolio.
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    shutil.copy(DEFAULT_MIGRATIONS_DIR / "0001_portfolios.sql", first_only)
    name = scratch.create(migrated=False)
    target = scratch.connect(name)
    apply_migrations(target, first_only)
    # The repository writes the current schema, so the row goes in by hand.
    target.run(
        "INSERT INTO portfolios VALUES (gen_random_uuid(), 'user-1', 'Live', "
        "'natural_capital', 'EUR', 0, 1, now(), now())"
    )
    before = table_rows(target, "portfolios")

    with pytest.raises(DatabaseNotEmpty, match="rows in portfolios"):
        restore_snapshot(target, bucket.s3, bucket.name, SNAPSHOT_ID)

    check = scratch.connect(name)
    versions = [row[0] for row in check.run("SELECT version FROM schema_migrations")]
    columns = check.run(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'portfolios'"
    )
    assert versions == [1]
    assert "options" not in {row[0] for row in columns}
    assert table_rows(check, "portfolios") == before
