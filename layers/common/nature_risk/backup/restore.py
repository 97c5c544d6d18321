"""Restore a verified snapshot into an empty database, in one transaction.

The steps, in order:

1. Read the manifest and reject a schema version without a migration file.
2. Verify the snapshot (every object present, sizes and SHA-256 match).
3. Gather deletion records from later snapshots and the current database.
4. Reject a target at a newer schema version, or whose tables hold rows
   (unless ``overwrite``). These checks only read the target.
5. In one transaction: migrate the target to the snapshot's schema version,
   reject a manifest whose tables or columns differ from that schema, empty
   the tables when overwriting, load every table with ``COPY ... FROM
   STDIN``, set the sequences, apply the deletion records, apply the
   migrations newer than the snapshot, commit. A rejection or a size,
   SHA-256 or row count mismatch found while loading rolls everything back,
   the migrations included.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.native

from nature_risk.backup import catalog, deletions, schema
from nature_risk.backup.errors import (
    BackupError,
    DatabaseNotEmpty,
    SnapshotCorrupt,
    UnknownSchemaVersion,
)
from nature_risk.backup.manifest import Manifest, TableEntry
from nature_risk.backup.reader import (
    ProgressCallback,
    check_objects_present,
    list_snapshots,
    load_manifest,
    read_table,
    verify_snapshot,
)
from nature_risk.storage.migrations import DEFAULT_MIGRATIONS_DIR

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RestoreOptions:
    """Choices an operator makes for one restore."""

    # Empty a non-empty target inside the restore transaction instead of
    # rejecting it.
    overwrite: bool = False
    # Read every object once before loading. Loading checks SHA-256 again.
    verify_first: bool = True
    # Newer snapshots whose deletion records are not read, for example
    # because they are damaged.
    ignore_snapshots: frozenset[str] = frozenset()
    migrations_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """The rows a restore loaded and the deletion records it applied."""

    manifest: Manifest
    rows: dict[str, int]
    deletion_records: int
    portfolios_deleted: int
    deletion_sources: list[str] = field(default_factory=list)


def restore_snapshot(
    connection: pg8000.native.Connection,
    s3: Any,
    bucket: str,
    snapshot_id: str,
    *,
    options: RestoreOptions | None = None,
    current_database: pg8000.native.Connection | None = None,
    progress: ProgressCallback | None = None,
) -> RestoreResult:
    """Restore ``snapshot_id`` into the database behind ``connection``.

    ``current_database``, when given, is the live (possibly damaged) database
    whose deletion records must also hold after the restore. ``progress``
    receives the number of stored bytes read, for verification and loading.
    Raises a ``BackupError`` subclass with a message naming what is wrong.
    """
    options = options or RestoreOptions()
    migrations_dir = options.migrations_dir or DEFAULT_MIGRATIONS_DIR

    manifest = load_manifest(s3, bucket, snapshot_id)
    known = catalog.known_schema_versions(migrations_dir)
    if manifest.schema_version not in known:
        raise UnknownSchemaVersion(
            f"snapshot {snapshot_id} has schema version "
            f"{manifest.schema_version}, which no migration file defines "
            f"(known: {', '.join(str(v) for v in sorted(known))}); restore it "
            "with the release that took it"
        )
    check_objects_present(s3, bucket, manifest)
    if options.verify_first:
        verify_snapshot(s3, bucket, snapshot_id, progress)

    records = _gather_deletions(s3, bucket, manifest, options, current_database)
    _check_target_version(connection, manifest.schema_version)
    non_empty = _tables_with_rows(connection, catalog.list_tables(connection))
    if non_empty and not options.overwrite:
        raise DatabaseNotEmpty(
            f"the target database has rows in {', '.join(non_empty)}: restore "
            "into an empty database, or pass --overwrite to replace its contents"
        )

    rows, deleted = _load(
        connection,
        s3,
        bucket,
        manifest,
        _LoadPlan(migrations_dir, max(known), bool(non_empty), records),
        progress,
    )
    logger.info(
        "Snapshot restored",
        extra={
            "objects": len(manifest.tables),
            "rows": sum(rows.values()),
            "portfolios": deleted,
        },
    )
    return RestoreResult(
        manifest=manifest,
        rows=rows,
        deletion_records=len(records),
        portfolios_deleted=deleted,
        deletion_sources=list(records.sources),
    )


def _gather_deletions(
    s3: Any,
    bucket: str,
    manifest: Manifest,
    options: RestoreOptions,
    current_database: pg8000.native.Connection | None,
) -> deletions.DeletionRecords:
    records = deletions.DeletionRecords()
    others = [
        item.snapshot_id
        for item in list_snapshots(s3, bucket)
        if item.complete
        and item.snapshot_id != manifest.snapshot_id
        and item.snapshot_id not in options.ignore_snapshots
    ]
    try:
        deletions.add_from_later_snapshots(records, s3, bucket, manifest, others)
    except BackupError as error:
        raise SnapshotCorrupt(
            f"{error.message}. Its deletion records cannot be read, so portfolios "
            "deleted before it could come back: repair it, or pass "
            "--ignore-snapshot with its id to restore without them"
        ) from None
    if current_database is not None:
        deletions.add_from_database(records, current_database, "current database")
    return records


def _check_target_version(connection: pg8000.native.Connection, version: int) -> None:
    """Reject a target whose schema is newer than the snapshot's."""
    current = catalog.schema_version(connection)
    if current > version:
        raise BackupError(
            f"the target database is at schema version {current}, newer than "
            f"the snapshot's {version}: restore into a database without the "
            "schema, which the restore creates"
        )


def _tables_with_rows(
    connection: pg8000.native.Connection, tables: list[catalog.Table]
) -> list[str]:
    found = []
    for name in sorted(table.name for table in tables):
        quoted = pg8000.native.identifier(name)
        if connection.run(f"SELECT EXISTS (SELECT 1 FROM {quoted})")[0][0]:  # noqa: S608
            found.append(name)
    return found


@dataclass(frozen=True, slots=True)
class _LoadPlan:
    """Steps of the restore transaction besides loading the manifest's tables."""

    migrations_dir: Path
    latest_version: int
    overwrite_rows: bool
    records: deletions.DeletionRecords


def _load(
    connection: pg8000.native.Connection,
    s3: Any,
    bucket: str,
    manifest: Manifest,
    plan: _LoadPlan,
    progress: ProgressCallback | None,
) -> tuple[dict[str, int], int]:
    rows: dict[str, int] = {}
    copying = False
    connection.run("START TRANSACTION")
    try:
        schema.migrate_in_transaction(
            connection, plan.migrations_dir, manifest.schema_version
        )
        tables = catalog.list_tables(connection)
        target_tables = {table.name: table for table in tables}
        schema.check_manifest_schema(manifest, target_tables)
        # Tables load parent-first, so only a cycle of foreign keys needs
        # this, and it helps only where those constraints are deferrable.
        connection.run("SET CONSTRAINTS ALL DEFERRED")
        if plan.overwrite_rows:
            deletions.add_from_database(plan.records, connection, "target database")
            names = ", ".join(pg8000.native.identifier(name) for name in target_tables)
            connection.run(f"TRUNCATE {names}")
        copying = True
        for entry in manifest.tables:
            rows[entry.name] = _load_table(
                connection, s3, bucket, manifest, entry, progress
            )
        copying = False
        for sequence in manifest.sequences:
            connection.run(
                "SELECT setval(CAST(:name AS regclass), :value, :called)",
                name=pg8000.native.identifier(sequence.name),
                value=sequence.last_value,
                called=sequence.is_called,
            )
        deleted = deletions.apply_deletions(connection, plan.records)
        if plan.latest_version > manifest.schema_version:
            schema.migrate_in_transaction(
                connection, plan.migrations_dir, plan.latest_version
            )
        connection.run("COMMIT")
    except BaseException:
        if copying:
            # An error inside COPY FROM STDIN, such as a size or SHA-256
            # mismatch, leaves the session mid-protocol, so the connection is
            # closed, which makes the server roll back. The caller must open
            # a new connection.
            with contextlib.suppress(pg8000.native.Error, OSError):
                connection.close()
        else:
            with contextlib.suppress(pg8000.native.Error, OSError):
                connection.run("ROLLBACK")
        raise
    return rows, deleted


def _load_table(
    connection: pg8000.native.Connection,
    s3: Any,
    bucket: str,
    manifest: Manifest,
    entry: TableEntry,
    progress: ProgressCallback | None,
) -> int:
    table = catalog.Table(entry.name, list(entry.columns))
    connection.run(
        f"COPY {table.copy_target()} FROM STDIN",
        stream=read_table(s3, bucket, manifest, entry, progress),
    )
    loaded = connection.row_count
    if loaded != entry.rows:
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: table {entry.name} loaded "
            f"{loaded} rows, the manifest records {entry.rows}"
        )
    return loaded
