"""Deletion records: which portfolios a restore must not bring back.

Deleting a portfolio removes it from the database and adds its id and
deletion time to ``deleted_portfolios``. A snapshot taken before the deletion
still contains the portfolio, so a restore gathers deletion records from every
source it can read and deletes those portfolios again before it commits:

* the restored snapshot's own ``deleted_portfolios`` table;
* the ``deleted_portfolios`` table of every complete snapshot whose data was
  read later than the restored snapshot's, by the read time in its manifest;
* the ``deleted_portfolios`` table of the current database, when reachable;
* the target's own table, when the restore overwrites a non-empty database.

The records themselves are kept (ids and times only), so a later restore from
this database or its snapshots applies them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pg8000.native

from nature_risk.backup.errors import SnapshotCorrupt
from nature_risk.backup.manifest import Manifest
from nature_risk.backup.reader import load_manifest, read_table

DELETIONS_TABLE = "deleted_portfolios"
PORTFOLIOS_TABLE = "portfolios"


@dataclass
class DeletionRecords:
    """Deleted portfolio ids with their deletion time (as PostgreSQL text), and
    the sources they came from."""

    deleted_at: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, portfolio_id: str, deleted_at: str) -> None:
        """Record one deletion, keeping the first time seen for an id."""
        self.deleted_at.setdefault(portfolio_id.lower(), deleted_at)

    def __len__(self) -> int:
        return len(self.deleted_at)


def add_from_snapshot(
    records: DeletionRecords, s3: Any, bucket: str, manifest: Manifest
) -> None:
    """Add the deletion records stored in one snapshot, checking its SHA-256."""
    entry = manifest.table(DELETIONS_TABLE)
    if entry is None:
        # Every schema version has the table (it comes with the first
        # migration), so a manifest without it is damaged.
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: the manifest lacks table "
            f"{DELETIONS_TABLE}"
        )
    try:
        id_index = entry.columns.index("id")
        time_index = entry.columns.index("deleted_at")
    except ValueError:
        raise SnapshotCorrupt(
            f"snapshot {manifest.snapshot_id}: table {DELETIONS_TABLE} lacks "
            "the id or deleted_at column"
        ) from None
    for line in _lines(read_table(s3, bucket, manifest, entry)):
        fields = line.split(b"\t")
        # uuid and timestamptz text never contains COPY escapes or \N here,
        # because both columns are NOT NULL.
        records.add(fields[id_index].decode("ascii"), fields[time_index].decode())
    records.sources.append(f"snapshot {manifest.snapshot_id}")


def add_from_later_snapshots(
    records: DeletionRecords,
    s3: Any,
    bucket: str,
    restored: Manifest,
    snapshot_ids: Iterable[str],
) -> None:
    """Add the deletion records of each listed complete snapshot whose data was
    read after the restored one's.

    Snapshots are ordered by the read time in their manifests, not by id,
    because a scheduled event retried late gets an earlier id than a manual
    snapshot taken meanwhile. A manifest that cannot be read raises, since
    its snapshot may hold later deletions.
    """
    for snapshot_id in snapshot_ids:
        manifest = load_manifest(s3, bucket, snapshot_id)
        if manifest.read_at > restored.read_at:
            add_from_snapshot(records, s3, bucket, manifest)


def add_from_database(
    records: DeletionRecords, connection: pg8000.native.Connection, source: str
) -> None:
    """Add the deletion records of a live database."""
    rows = connection.run(
        f"SELECT id::text, deleted_at::text FROM {DELETIONS_TABLE}"  # noqa: S608 - constant
    )
    for portfolio_id, deleted_at in rows:
        records.add(portfolio_id, deleted_at)
    records.sources.append(source)


def apply_deletions(
    connection: pg8000.native.Connection, records: DeletionRecords
) -> int:
    """Store the records and delete every portfolio they or the restored
    ``deleted_portfolios`` table list; return the portfolios deleted.

    Runs inside the caller's transaction. Holdings go with their portfolio
    through the foreign key's ``ON DELETE CASCADE``.
    """
    if records.deleted_at:
        connection.run(
            f"INSERT INTO {DELETIONS_TABLE} (id, deleted_at) "  # noqa: S608 - constant
            "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:times AS timestamptz[])) "
            "ON CONFLICT (id) DO NOTHING",
            ids=list(records.deleted_at),
            times=list(records.deleted_at.values()),
        )
    connection.run(
        f"DELETE FROM {PORTFOLIOS_TABLE} p USING {DELETIONS_TABLE} d "  # noqa: S608 - constant
        "WHERE p.id = d.id"
    )
    return connection.row_count


def _lines(chunks: Iterable[bytes]) -> Iterable[bytes]:
    rest = b""
    for chunk in chunks:
        data = rest + chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest
