"""List, verify and read snapshots in the backup bucket.

Verification checks that the manifest exists and parses, that every object it
names exists with the recorded size, and that the SHA-256 of each object's
bytes matches. Reading a table streams its object, checks the same size and
SHA-256 at the end, and yields decompressed COPY text in bounded chunks.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from nature_risk.backup.errors import (
    SnapshotCorrupt,
    SnapshotIncomplete,
    SnapshotNotFound,
)
from nature_risk.backup.manifest import (
    MANIFEST_NAME,
    SNAPSHOT_ID_PATTERN,
    SNAPSHOTS_PREFIX,
    Manifest,
    TableEntry,
    manifest_key,
    snapshot_prefix,
)
from nature_risk.backup.multipart import GZIP_WBITS

# Compressed bytes read from S3 per request on the response stream.
READ_SIZE = 1024 * 1024
# Largest decompressed chunk handed to the caller, whatever the compression ratio.
MAX_CHUNK = 1024 * 1024

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class SnapshotListing:
    """One snapshot prefix in the bucket and whether it has a manifest."""

    snapshot_id: str
    complete: bool


def _error_code(error: ClientError) -> str | None:
    return error.response.get("Error", {}).get("Code")


def _is_missing(error: ClientError) -> bool:
    return _error_code(error) in {"NoSuchKey", "404", "NotFound"}


def list_snapshots(s3: Any, bucket: str) -> list[SnapshotListing]:
    """List every snapshot prefix, oldest first, marking those with a manifest."""
    ids: set[str] = set()
    complete: set[str] = set()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=SNAPSHOTS_PREFIX):
        for item in page.get("Contents", []):
            parts = item["Key"][len(SNAPSHOTS_PREFIX) :].split("/")
            if len(parts) < 2 or not SNAPSHOT_ID_PATTERN.match(parts[0]):
                continue
            ids.add(parts[0])
            if len(parts) == 2 and parts[1] == MANIFEST_NAME:
                complete.add(parts[0])
    return [
        SnapshotListing(snapshot_id, snapshot_id in complete)
        for snapshot_id in sorted(ids)
    ]


def latest_complete_snapshot(s3: Any, bucket: str) -> str:
    """Return the id of the complete snapshot whose data was read last.

    Snapshots are ordered by the read time in their manifests, then by id.
    Raises ``SnapshotCorrupt`` when a complete snapshot's manifest cannot be
    parsed, because that snapshot could be the latest.
    """
    latest: Manifest | None = None
    for item in list_snapshots(s3, bucket):
        if not item.complete:
            continue
        manifest = load_manifest(s3, bucket, item.snapshot_id)
        if latest is None or manifest.read_at >= latest.read_at:
            latest = manifest
    if latest is None:
        raise SnapshotNotFound("no complete snapshot was found in the bucket")
    return latest.snapshot_id


def load_manifest(s3: Any, bucket: str, snapshot_id: str) -> Manifest:
    """Read and parse a snapshot's manifest.

    Raises ``SnapshotNotFound`` when nothing exists under the prefix and
    ``SnapshotIncomplete`` when objects exist but the manifest does not.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=manifest_key(snapshot_id))
    except ClientError as error:
        if not _is_missing(error):
            raise
        listed = s3.list_objects_v2(
            Bucket=bucket, Prefix=snapshot_prefix(snapshot_id), MaxKeys=1
        )
        if listed.get("KeyCount", 0) == 0:
            raise SnapshotNotFound(f"snapshot {snapshot_id} does not exist") from None
        raise SnapshotIncomplete(
            f"snapshot {snapshot_id} has no manifest: it is incomplete and "
            "cannot be restored; choose another snapshot"
        ) from None
    return Manifest.from_json(response["Body"].read(), snapshot_id)


def unnamed_objects(s3: Any, bucket: str, manifest: Manifest) -> list[str]:
    """List the keys under the snapshot's prefix that its manifest does not name.

    They are left by failed or overlapping attempts until the lifecycle rule
    expires them, or were written by hand. A restore never reads them.
    """
    named = {entry.key for entry in manifest.tables}
    named.add(manifest_key(manifest.snapshot_id))
    unnamed: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    prefix = snapshot_prefix(manifest.snapshot_id)
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"] not in named:
                unnamed.append(item["Key"])
    return sorted(unnamed)


def check_objects_present(s3: Any, bucket: str, manifest: Manifest) -> None:
    """Check that every object the manifest names exists with its recorded size."""
    for entry in manifest.tables:
        head = _call_on_object(s3.head_object, bucket, manifest, entry)
        _check_size(head["ContentLength"], manifest, entry)


def _call_on_object(
    operation: Callable[..., Any], bucket: str, manifest: Manifest, entry: TableEntry
) -> Any:
    """Run ``head_object`` or ``get_object`` on a table's object; a missing
    object raises ``SnapshotCorrupt``."""
    try:
        return operation(Bucket=bucket, Key=entry.key)
    except ClientError as error:
        if not _is_missing(error):
            raise
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: the object of table "
            f"{entry.name} is missing"
        ) from None


def _check_size(size: int, manifest: Manifest, entry: TableEntry) -> None:
    if size != entry.size:
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: the object of table {entry.name} "
            f"has {size} bytes, the manifest records {entry.size}"
        )


def read_table(
    s3: Any,
    bucket: str,
    manifest: Manifest,
    entry: TableEntry,
    progress: ProgressCallback | None = None,
) -> Iterator[bytes]:
    """Yield the decompressed COPY text of one table, checking it as it streams.

    Raises ``SnapshotCorrupt`` once the object's size or SHA-256 differs from
    the manifest, or when it is not valid gzip. Bytes are yielded before the
    end-of-object check, so a caller loading them must not commit until the
    iterator is exhausted.
    """
    response = _call_on_object(s3.get_object, bucket, manifest, entry)
    body = response["Body"]
    digest = hashlib.sha256()
    size = 0
    decompressor = zlib.decompressobj(GZIP_WBITS)
    valid_gzip = True
    try:
        while True:
            data = body.read(READ_SIZE)
            if not data:
                break
            digest.update(data)
            size += len(data)
            if progress is not None:
                progress(len(data))
            if valid_gzip:
                try:
                    yield from _decompress(decompressor, data)
                except zlib.error:
                    # Read on without decompressing: a size or SHA-256
                    # mismatch names the cause better than a gzip error.
                    valid_gzip = False
        if valid_gzip:
            tail = decompressor.flush()
            if tail:
                yield tail
    finally:
        body.close()
    _check_size(size, manifest, entry)
    if digest.hexdigest() != entry.sha256:
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: the SHA-256 of table "
            f"{entry.name}'s object does not match the manifest"
        )
    if not valid_gzip or not decompressor.eof:
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: the object of table {entry.name} "
            "is not a complete gzip stream"
        )


def _decompress(decompressor: Any, data: bytes) -> Iterator[bytes]:
    chunk = decompressor.decompress(data, MAX_CHUNK)
    while chunk:
        yield chunk
        chunk = decompressor.decompress(decompressor.unconsumed_tail, MAX_CHUNK)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A verified snapshot: its manifest and the bytes and rows checked."""

    manifest: Manifest
    objects: int
    bytes_checked: int


def verify_snapshot(
    s3: Any,
    bucket: str,
    snapshot_id: str,
    progress: ProgressCallback | None = None,
) -> VerifyResult:
    """Check a snapshot end to end (sizes, SHA-256, gzip, row counts) without
    touching any database.

    Raises ``SnapshotNotFound``, ``SnapshotIncomplete`` or ``SnapshotCorrupt``
    with a message naming the snapshot and the table at fault.
    """
    manifest = load_manifest(s3, bucket, snapshot_id)
    check_objects_present(s3, bucket, manifest)
    for entry in manifest.tables:
        # COPY text escapes newlines inside values, so each line is one row.
        rows = 0
        for chunk in read_table(s3, bucket, manifest, entry, progress):
            rows += chunk.count(b"\n")
        if rows != entry.rows:
            raise SnapshotCorrupt(
                f"snapshot {snapshot_id}: table {entry.name} has {rows} rows, "
                f"the manifest records {entry.rows}"
            )
    return VerifyResult(
        manifest=manifest,
        objects=len(manifest.tables),
        bytes_checked=manifest.total_size,
    )
