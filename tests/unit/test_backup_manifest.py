"""Snapshot ids, the manifest format and the backup settings."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
from nature_risk.backup.errors import SnapshotCorrupt
from nature_risk.backup.job import snapshot_id_from_event
from nature_risk.backup.manifest import (
    Manifest,
    SequenceEntry,
    TableEntry,
    manifest_key,
    snapshot_prefix,
)
from nature_risk.config import ConfigurationError
from nature_risk.config.backup import BackupSettings

SNAPSHOT_ID = "20261203T023000Z"
NOW = datetime.datetime(2026, 12, 5, 7, 8, 9, tzinfo=datetime.UTC)


def _manifest() -> Manifest:
    return Manifest(
        snapshot_id=SNAPSHOT_ID,
        created_at="2026-12-03T02:30:00.123456+00:00",
        schema_version=2,
        tables=[
            TableEntry(
                name="portfolios",
                columns=["id", "name"],
                rows=3,
                key=f"snapshots/{SNAPSHOT_ID}/abc/portfolios.copy.gz",
                size=120,
                sha256="0" * 64,
                raw_size=300,
            )
        ],
        sequences=[SequenceEntry("edge_values_id_seq", 5, True)],
        event_id="7bf73129",
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"time": "2026-12-03T02:30:00Z"}, "20261203T023000Z"),
        ({"time": "2026-12-03T03:30:00+01:00"}, "20261203T023000Z"),
        ({"time": "2026-12-03T02:30:00.999Z"}, "20261203T023000Z"),
        ({"time": "2026-12-03T02:30:00"}, "20261205T070809Z"),
        ({"time": "not a time"}, "20261205T070809Z"),
        ({"time": 1733193000}, "20261205T070809Z"),
        ({}, "20261205T070809Z"),
    ],
)
def test_snapshot_id_from_event(event: dict, expected: str) -> None:
    assert snapshot_id_from_event(event, now=NOW) == expected


def test_snapshot_prefix_rejects_bad_id() -> None:
    with pytest.raises(ValueError, match="YYYYMMDDTHHMMSSZ"):
        snapshot_prefix("../20261203T023000Z")


def test_manifest_key_under_prefix() -> None:
    assert manifest_key(SNAPSHOT_ID) == f"snapshots/{SNAPSHOT_ID}/manifest.json"


def test_manifest_json_round_trip() -> None:
    manifest = _manifest()

    parsed = Manifest.from_json(manifest.to_json(), SNAPSHOT_ID)

    assert parsed == manifest
    assert parsed.total_rows == 3
    assert parsed.total_size == 120


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("format", "pg_dump"),
        ("format_version", 2),
        ("compression", "zstd"),
        ("copy_format", "binary"),
        ("tables", "none"),
        ("schema_version", "one"),
    ],
)
def test_manifest_rejects_wrong_field(field: str, value: object) -> None:
    data = json.loads(_manifest().to_json())
    data[field] = value

    with pytest.raises(SnapshotCorrupt, match="not a valid"):
        Manifest.from_json(json.dumps(data).encode(), SNAPSHOT_ID)


def test_manifest_rejects_other_snapshot_id() -> None:
    body = _manifest().to_json()

    with pytest.raises(SnapshotCorrupt, match="another snapshot id"):
        Manifest.from_json(body, "20261204T023000Z")


def test_manifest_rejects_object_outside_prefix() -> None:
    manifest = _manifest()
    entry = dataclasses.replace(manifest.tables[0], key="elsewhere/portfolios.gz")
    body = dataclasses.replace(manifest, tables=[entry]).to_json()

    with pytest.raises(SnapshotCorrupt, match="outside the snapshot prefix"):
        Manifest.from_json(body, SNAPSHOT_ID)


def test_settings_defaults() -> None:
    settings = BackupSettings.from_env({"BACKUP_BUCKET": "backups"})

    assert settings.bucket == "backups"
    assert settings.kms_key_arn is None
    assert settings.part_size == 8 * 1024 * 1024
    assert settings.compression_level == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BACKUP_BUCKET is not set"),
        ({"BACKUP_PART_SIZE_MIB": "4"}, "BACKUP_PART_SIZE_MIB must be at least 5"),
        ({"BACKUP_COMPRESSION_LEVEL": "10"}, "BACKUP_COMPRESSION_LEVEL must be at"),
        ({"BACKUP_COMPRESSION_LEVEL": "0"}, "BACKUP_COMPRESSION_LEVEL must be at"),
    ],
)
def test_settings_reject_bad_values(env: dict[str, str], message: str) -> None:
    values = {"BACKUP_BUCKET": "backups", **env} if env else {}

    with pytest.raises(ConfigurationError, match=message):
        BackupSettings.from_env(values)
