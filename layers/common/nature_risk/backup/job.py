"""The scheduled backup job: take a snapshot, or verify the newest one.

An EventBridge schedule event (``{"id": ..., "time": ..., ...}``) takes a
snapshot whose id comes from the event's ``time``, so a retry of the same
event finds the snapshot already complete and writes nothing. An event
``{"action": "verify"}`` (a schedule target with a constant input) verifies
the newest complete snapshot instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import pg8000.native

from nature_risk.backup.manifest import snapshot_id_for
from nature_risk.backup.reader import latest_complete_snapshot, verify_snapshot
from nature_risk.backup.snapshot import SnapshotTarget, take_snapshot
from nature_risk.config import ConfigurationError
from nature_risk.config.backup import BackupSettings
from nature_risk.config.database import DatabaseSettings

VERIFY_ACTION = "verify"


def snapshot_id_from_event(
    event: Mapping[str, Any], now: datetime.datetime | None = None
) -> str:
    """Derive the snapshot id from the event's ``time`` (EventBridge's
    scheduled time), or from ``now`` when the event has none."""
    raw = event.get("time")
    if isinstance(raw, str):
        try:
            moment = datetime.datetime.fromisoformat(raw)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return snapshot_id_for(moment)
    return snapshot_id_for(now or datetime.datetime.now(datetime.UTC))


def snapshot_target(settings: BackupSettings) -> SnapshotTarget:
    """Build the writer's target from the settings; a KMS key is required."""
    if settings.kms_key_arn is None:
        raise ConfigurationError("BACKUP_KMS_KEY_ARN is not set")
    return SnapshotTarget(
        bucket=settings.bucket,
        kms_key_id=settings.kms_key_arn,
        part_size=settings.part_size,
        compression_level=settings.compression_level,
    )


def backup_database_settings(
    database: DatabaseSettings, backup: BackupSettings
) -> DatabaseSettings:
    """Return ``database`` with the longer statement timeout a whole-table
    COPY needs."""
    return database._replace(statement_timeout_ms=backup.statement_timeout_ms)


def run_job(
    event: Mapping[str, Any],
    settings: BackupSettings,
    s3: Any,
    connect: Callable[[], pg8000.native.Connection],
) -> dict[str, Any]:
    """Run the job the event requests and return a summary of counts and ids."""
    if event.get("action") == VERIFY_ACTION:
        snapshot_id = latest_complete_snapshot(s3, settings.bucket)
        verified = verify_snapshot(s3, settings.bucket, snapshot_id)
        return {
            "action": VERIFY_ACTION,
            "snapshot_id": snapshot_id,
            "objects": verified.objects,
            "bytes": verified.bytes_checked,
        }

    target = snapshot_target(settings)
    snapshot_id = snapshot_id_from_event(event)
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    connection = connect()
    try:
        result = take_snapshot(connection, s3, target, snapshot_id, event_id=event_id)
    finally:
        connection.close()
    return {
        "action": "snapshot",
        "snapshot_id": snapshot_id,
        "created": result.created,
        "objects": len(result.manifest.tables),
        "rows": result.manifest.total_rows,
        "bytes": result.manifest.total_size,
    }
