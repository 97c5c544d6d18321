"""Exceptions raised by the snapshot writer, the verifier and the restore.

Messages name snapshots, tables, object keys and counts. These are names from
the product's own schema and bucket layout, never a value a user stored.
"""

from __future__ import annotations

from nature_risk.errors import NatureRiskError


class BackupError(NatureRiskError):
    """Base of every error raised by the backup package."""

    code = "backup_error"


class SnapshotNotFound(BackupError):
    """No snapshot with the requested id exists in the bucket."""

    code = "snapshot_not_found"


class SnapshotIncomplete(BackupError):
    """The snapshot prefix has no manifest, so the snapshot was never finished."""

    code = "snapshot_incomplete"


class SnapshotCorrupt(BackupError):
    """An object is missing or its size, SHA-256 or row count differs from the
    manifest."""

    code = "snapshot_corrupt"


class UnknownSchemaVersion(BackupError):
    """The snapshot was taken at a schema version this code has no migration for."""

    code = "unknown_schema_version"


class DatabaseNotEmpty(BackupError):
    """The restore target already contains rows."""

    code = "database_not_empty"
