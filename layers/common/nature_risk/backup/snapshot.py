"""Take a snapshot: every table, read in one transaction, streamed to S3.

The writer opens one ``REPEATABLE READ, READ ONLY`` transaction, so every
table is read at the same instant, and streams each table with
``COPY ... TO STDOUT`` into its own gzip multipart upload. The manifest is
written last, with ``If-None-Match: *``, so a snapshot id gets at most one
manifest even when two invocations for the same scheduled event overlap.

Data objects live under ``snapshots/<id>/<run id>/``, one folder per attempt,
so an attempt never overwrites the objects that another attempt's manifest
names. On any failure the attempt aborts its open multipart uploads, deletes
every object under its own folder that the stored manifest does not name, and
re-raises.

A 412 (PreconditionFailed) or 409 (ConditionalRequestConflict) on the
manifest write is settled by reading the stored manifest back. botocore
retries a PutObject whose response was lost, so the stored manifest can be
this attempt's own, and then the snapshot is complete. Only when another
attempt's manifest is stored are this attempt's objects deleted.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pg8000.native
from botocore.exceptions import ClientError

from nature_risk.backup import catalog
from nature_risk.backup.errors import BackupError
from nature_risk.backup.manifest import (
    Manifest,
    SequenceEntry,
    TableEntry,
    manifest_key,
    snapshot_prefix,
)
from nature_risk.backup.multipart import CompressedUpload

logger = logging.getLogger(__name__)

DATA_SUFFIX = ".copy.gz"


@dataclass(frozen=True, slots=True)
class SnapshotTarget:
    """Destination and encoding settings of snapshots."""

    bucket: str
    kms_key_id: str
    part_size: int = 8 * 1024 * 1024
    compression_level: int = 1


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """The outcome of one ``take_snapshot`` call.

    ``created`` is False when the snapshot id already had a manifest, so this
    call wrote nothing and ``manifest`` is the one found in the bucket.
    """

    manifest: Manifest
    created: bool


def read_manifest_if_present(s3: Any, bucket: str, snapshot_id: str) -> Manifest | None:
    """Return the snapshot's manifest, or None when the prefix has none."""
    try:
        response = s3.get_object(Bucket=bucket, Key=manifest_key(snapshot_id))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise
    return Manifest.from_json(response["Body"].read(), snapshot_id)


def take_snapshot(
    connection: pg8000.native.Connection,
    s3: Any,
    target: SnapshotTarget,
    snapshot_id: str,
    *,
    event_id: str | None = None,
) -> SnapshotResult:
    """Write snapshot ``snapshot_id`` unless it already has a manifest.

    ``connection`` must not be inside a transaction. Raises whatever the
    database or S3 raised, after cleaning up this attempt's uploads.
    """
    existing = read_manifest_if_present(s3, target.bucket, snapshot_id)
    if existing is not None:
        logger.info("Snapshot already complete, nothing written")
        return SnapshotResult(existing, created=False)

    run_prefix = f"{snapshot_prefix(snapshot_id)}{uuid.uuid4().hex}/"
    attempt = _Attempt(s3, target, run_prefix)
    manifest: Manifest | None = None
    try:
        manifest = _copy_tables(connection, attempt, run_prefix, snapshot_id, event_id)
        written = _put_manifest(s3, target, manifest)
        stored = None if written else _read_after_conflict(s3, target, snapshot_id)
    except BaseException as error:
        logger.error(
            "Snapshot failed; its uploads are aborted and no manifest is written",
            extra={"error_class": type(error).__name__},
        )
        # A manifest write that raised may still have been stored, so the
        # objects a stored manifest names are kept.
        if manifest is None:
            attempt.clean_up(keep=set())
        else:
            attempt.clean_up(keep=_stored_keys(s3, target, snapshot_id))
        raise

    if stored is not None and stored == manifest:
        # The write was retried after its first attempt was stored.
        logger.info("Manifest write retried; the stored manifest is this run's")
    elif stored is not None:
        # Another invocation for the same event finished first. Its manifest
        # names objects in its own folder, never in this attempt's.
        attempt.clean_up(keep={entry.key for entry in stored.tables})
        logger.info("Snapshot completed by another invocation, nothing kept")
        return SnapshotResult(stored, created=False)

    logger.info(
        "Snapshot complete",
        extra={
            "objects": len(manifest.tables),
            "rows": manifest.total_rows,
            "bytes": manifest.total_size,
        },
    )
    return SnapshotResult(manifest, created=True)


def _read_after_conflict(s3: Any, target: SnapshotTarget, snapshot_id: str) -> Manifest:
    """Return the manifest stored after a conditional write was rejected.

    Raises ``BackupError`` when none is stored, which happens after a 409
    whose competing write did not complete. The snapshot can then be retried.
    """
    stored = read_manifest_if_present(s3, target.bucket, snapshot_id)
    if stored is None:
        raise BackupError(
            f"snapshot {snapshot_id}: the manifest write conflicted with another "
            "write and no manifest is stored; retry the snapshot"
        )
    return stored


def _stored_keys(s3: Any, target: SnapshotTarget, snapshot_id: str) -> set[str] | None:
    """Return the keys the stored manifest names, or None when it cannot be read.

    An empty set means no manifest is stored.
    """
    try:
        stored = read_manifest_if_present(s3, target.bucket, snapshot_id)
    except Exception as error:  # noqa: BLE001 - the caller re-raises its own error
        logger.warning(
            "The stored manifest could not be read, so no object is deleted",
            extra={"error_class": type(error).__name__},
        )
        return None
    if stored is None:
        return set()
    return {entry.key for entry in stored.tables}


def _copy_tables(
    connection: pg8000.native.Connection,
    attempt: _Attempt,
    run_prefix: str,
    snapshot_id: str,
    event_id: str | None,
) -> Manifest:
    connection.run("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    try:
        # The first statement fixes the transaction's view of the database,
        # and every statement below reads that same view. Its start time is
        # the moment the snapshot shows.
        started = connection.run("SELECT transaction_timestamp()")[0][0]
        created_at = started.astimezone(datetime.UTC).isoformat()
        version = catalog.schema_version(connection)
        tables = catalog.list_tables(connection)
        sequences = [
            SequenceEntry(name, *catalog.read_sequence(connection, name))
            for name in catalog.list_sequences(connection)
        ]
        entries = [
            _copy_table(connection, attempt, run_prefix, table) for table in tables
        ]
        connection.run("COMMIT")
    except BaseException:
        with contextlib.suppress(pg8000.native.Error, OSError):
            connection.run("ROLLBACK")
        raise
    return Manifest(
        snapshot_id=snapshot_id,
        created_at=created_at,
        schema_version=version,
        tables=entries,
        sequences=sequences,
        event_id=event_id,
    )


def _copy_table(
    connection: pg8000.native.Connection,
    attempt: _Attempt,
    run_prefix: str,
    table: catalog.Table,
) -> TableEntry:
    upload = attempt.open(f"{run_prefix}{table.name}{DATA_SUFFIX}")
    connection.run(f"COPY {table.copy_target()} TO STDOUT", stream=upload.stream)
    rows = connection.row_count
    uploaded = attempt.finish(upload)
    return TableEntry(
        name=table.name,
        columns=list(table.columns),
        rows=rows,
        key=uploaded.key,
        size=uploaded.size,
        sha256=uploaded.sha256,
        raw_size=uploaded.raw_size,
    )


def _put_manifest(s3: Any, target: SnapshotTarget, manifest: Manifest) -> bool:
    """Write the manifest unless one exists; return False when one did."""
    try:
        s3.put_object(
            Bucket=target.bucket,
            Key=manifest_key(manifest.snapshot_id),
            Body=manifest.to_json(),
            ContentType="application/json",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=target.kms_key_id,
            BucketKeyEnabled=True,
            IfNoneMatch="*",
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}:
            return False
        raise
    return True


class _Attempt:
    """The uploads one snapshot attempt opened, so a failure can undo them."""

    def __init__(self, s3: Any, target: SnapshotTarget, run_prefix: str) -> None:
        self._s3 = s3
        self._target = target
        self._run_prefix = run_prefix
        self._open: list[CompressedUpload] = []
        self._finished: list[str] = []

    def open(self, key: str) -> CompressedUpload:
        upload = CompressedUpload(
            self._s3,
            self._target.bucket,
            key,
            kms_key_id=self._target.kms_key_id,
            part_size=self._target.part_size,
            compression_level=self._target.compression_level,
        )
        self._open.append(upload)
        return upload

    def finish(self, upload: CompressedUpload) -> Any:
        uploaded = upload.close()
        self._open.remove(upload)
        self._finished.append(upload.key)
        return uploaded

    def clean_up(self, keep: set[str] | None) -> None:
        """Abort every open upload and delete this attempt's objects, best effort.

        Objects in ``keep`` stay, and ``keep=None`` keeps every object. Besides
        the objects this attempt finished, the attempt's folder is listed,
        because a CompleteMultipartUpload whose response was lost leaves an
        object that was never recorded as finished. A step that fails is
        logged by class and skipped. The bucket's lifecycle rule removes
        incomplete multipart uploads left behind.
        """
        for upload in self._open:
            try:
                upload.abort()
            except Exception as error:  # noqa: BLE001 - keep cleaning up
                logger.warning(
                    "A multipart upload could not be aborted",
                    extra={"error_class": type(error).__name__},
                )
        self._open = []
        if keep is None:
            return
        for key in sorted(set(self._finished) | self._listed_keys()):
            if key in keep:
                continue
            try:
                self._s3.delete_object(Bucket=self._target.bucket, Key=key)
            except Exception as error:  # noqa: BLE001 - keep cleaning up
                logger.warning(
                    "An object of a failed snapshot could not be deleted",
                    extra={"error_class": type(error).__name__},
                )
        self._finished = []

    def _listed_keys(self) -> set[str]:
        keys: set[str] = set()
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self._target.bucket, Prefix=self._run_prefix
            )
            for page in pages:
                keys.update(item["Key"] for item in page.get("Contents", []))
        except Exception as error:  # noqa: BLE001 - keep cleaning up
            logger.warning(
                "The objects of a failed snapshot could not be listed",
                extra={"error_class": type(error).__name__},
            )
        return keys
