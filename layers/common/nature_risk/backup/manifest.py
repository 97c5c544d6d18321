"""The snapshot manifest: what a finished snapshot contains, written last.

A snapshot is the prefix ``snapshots/<snapshot id>/`` in the backup bucket.
Its data objects are gzip-compressed PostgreSQL COPY text, one per table. The
manifest ``snapshots/<snapshot id>/manifest.json`` lists the schema version,
every table with its columns and row count, and the key, byte size and SHA-256
of every object. A prefix without a manifest is an incomplete snapshot.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from nature_risk.backup.errors import SnapshotCorrupt

SNAPSHOTS_PREFIX = "snapshots/"
MANIFEST_NAME = "manifest.json"
FORMAT = "nature-risk-snapshot"
FORMAT_VERSION = 1
COMPRESSION = "gzip"
COPY_FORMAT = "text"

# Snapshot ids are UTC timestamps in ISO 8601 basic format, so they sort by time.
SNAPSHOT_ID_FORMAT = "%Y%m%dT%H%M%SZ"
SNAPSHOT_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")


def snapshot_id_for(moment: datetime.datetime) -> str:
    """Return the snapshot id for a moment (converted to UTC, whole seconds)."""
    return moment.astimezone(datetime.UTC).strftime(SNAPSHOT_ID_FORMAT)


def snapshot_prefix(snapshot_id: str) -> str:
    """Return the bucket prefix of a snapshot, ending in a slash."""
    if not SNAPSHOT_ID_PATTERN.match(snapshot_id):
        raise ValueError("a snapshot id has the form YYYYMMDDTHHMMSSZ")
    return f"{SNAPSHOTS_PREFIX}{snapshot_id}/"


def manifest_key(snapshot_id: str) -> str:
    """Return the object key of a snapshot's manifest."""
    return snapshot_prefix(snapshot_id) + MANIFEST_NAME


@dataclass(frozen=True, slots=True)
class TableEntry:
    """One table in a snapshot: its columns, row count and data object."""

    name: str
    columns: list[str]
    rows: int
    key: str
    size: int
    sha256: str
    raw_size: int


@dataclass(frozen=True, slots=True)
class SequenceEntry:
    """One sequence's position when the snapshot was taken."""

    name: str
    last_value: int
    is_called: bool


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything a restore needs to check and load one snapshot."""

    snapshot_id: str
    created_at: str
    schema_version: int
    tables: list[TableEntry]
    sequences: list[SequenceEntry] = field(default_factory=list)
    event_id: str | None = None
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    compression: str = COMPRESSION
    copy_format: str = COPY_FORMAT

    def table(self, name: str) -> TableEntry | None:
        """Return the entry of table ``name``, or None when the snapshot lacks it."""
        for entry in self.tables:
            if entry.name == name:
                return entry
        return None

    @property
    def read_at(self) -> datetime.datetime:
        """The start of the snapshot's read transaction, by the database's clock.

        Snapshots are ordered by this time, not by id.
        """
        return datetime.datetime.fromisoformat(self.created_at)

    @property
    def total_size(self) -> int:
        """Stored bytes of every data object together."""
        return sum(entry.size for entry in self.tables)

    @property
    def total_rows(self) -> int:
        """Rows of every table together."""
        return sum(entry.rows for entry in self.tables)

    def to_json(self) -> bytes:
        """Serialise the manifest as UTF-8 JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, body: bytes, snapshot_id: str) -> Manifest:
        """Parse a manifest, raising ``SnapshotCorrupt`` when it is not one."""
        try:
            data: dict[str, Any] = json.loads(body)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            if data.get("format_version") != FORMAT_VERSION:
                raise ValueError("format_version")
            if data.get("compression") != COMPRESSION:
                raise ValueError("compression")
            if data.get("copy_format") != COPY_FORMAT:
                raise ValueError("copy_format")
            manifest = cls(
                snapshot_id=str(data["snapshot_id"]),
                created_at=str(data["created_at"]),
                schema_version=int(data["schema_version"]),
                tables=[TableEntry(**entry) for entry in data["tables"]],
                sequences=[SequenceEntry(**entry) for entry in data["sequences"]],
                event_id=data.get("event_id"),
            )
            if manifest.read_at.utcoffset() is None:
                raise ValueError("created_at")
        except (ValueError, KeyError, TypeError):
            raise SnapshotCorrupt(
                f"snapshot {snapshot_id}: the manifest is not a valid "
                f"{FORMAT} version {FORMAT_VERSION} manifest"
            ) from None
        if manifest.snapshot_id != snapshot_id:
            raise SnapshotCorrupt(
                f"snapshot {snapshot_id}: the manifest names another snapshot id"
            )
        prefix = snapshot_prefix(snapshot_id)
        for entry in manifest.tables:
            # S3 keys are literal strings, but a ".." segment would name
            # another snapshot's object for any tool that resolves paths.
            if not entry.key.startswith(prefix) or ".." in entry.key.split("/"):
                raise SnapshotCorrupt(
                    f"snapshot {snapshot_id}: the object of table {entry.name} "
                    "lies outside the snapshot prefix"
                )
        return manifest
