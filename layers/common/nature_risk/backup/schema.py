"""The restore's schema steps: migrate inside its transaction, check the manifest.

The restore runs the migration files inside its own transaction, unlike the
migrations runner, which commits each file. A restore that fails or is
rejected after migrating therefore rolls the schema back with the data.
"""

from __future__ import annotations

from pathlib import Path

import pg8000.native

from nature_risk.backup import catalog
from nature_risk.backup.errors import BackupError, SnapshotCorrupt
from nature_risk.backup.manifest import Manifest
from nature_risk.storage.migrations import (
    ADVISORY_LOCK_KEY,
    CREATE_LEDGER,
    discover_migrations,
)


def migrate_in_transaction(
    connection: pg8000.native.Connection, migrations_dir: Path, up_to: int
) -> None:
    """Apply the pending migrations up to version ``up_to`` and record them.

    Runs inside the caller's transaction and commits nothing. Takes the
    migrations runner's advisory lock, so a runner started meanwhile waits.
    """
    connection.run(CREATE_LEDGER)
    connection.run("SELECT pg_advisory_xact_lock(:key)", key=ADVISORY_LOCK_KEY)
    recorded = dict(
        connection.run(
            f"SELECT version, sha256 FROM {catalog.MIGRATIONS_TABLE}"  # noqa: S608 - constant
        )
    )
    for migration in discover_migrations(migrations_dir):
        if migration.version > up_to:
            break
        digest = recorded.get(migration.version)
        if digest is not None:
            if digest != migration.sha256:
                raise BackupError(
                    f"migration {migration.version:04d}_{migration.name} in the "
                    "target database differs from its file: restore into a "
                    "database without the schema"
                )
            continue
        connection.run(migration.sql)
        connection.run(
            f"INSERT INTO {catalog.MIGRATIONS_TABLE} "  # noqa: S608 - constant
            "(version, name, sha256) VALUES (:version, :name, :sha256)",
            version=migration.version,
            name=migration.name,
            sha256=migration.sha256,
        )


def check_manifest_schema(
    manifest: Manifest, target_tables: dict[str, catalog.Table]
) -> None:
    """Reject a manifest whose tables or columns differ from the target's schema.

    ``target_tables`` is the target after migrating to the manifest's schema
    version. Each table of that schema must be listed, with its columns in
    the same order, and no other table. COPY loads columns by the manifest's
    list, so a swapped pair would load each column's values into the other.
    """
    prefix = f"snapshot {manifest.snapshot_id}: the manifest does not match schema "
    prefix += f"version {manifest.schema_version}"
    listed = [entry.name for entry in manifest.tables]
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    if duplicates:
        raise SnapshotCorrupt(f"{prefix}: it lists table {duplicates[0]} twice")
    missing = sorted(set(target_tables) - set(listed))
    if missing:
        raise SnapshotCorrupt(f"{prefix}: it lacks table {', '.join(missing)}")
    unknown = sorted(set(listed) - set(target_tables))
    if unknown:
        raise SnapshotCorrupt(
            f"{prefix}: it lists table {', '.join(unknown)}, which the target "
            "does not have at that version"
        )
    for entry in manifest.tables:
        expected = target_tables[entry.name].columns
        if entry.columns != expected:
            raise SnapshotCorrupt(
                f"{prefix}: the columns of table {entry.name} differ from "
                f"{', '.join(expected)} (names or order)"
            )
