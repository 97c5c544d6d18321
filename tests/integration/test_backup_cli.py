"""The restore command line against moto S3 and the TLS PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from nature_risk.backup.__main__ import main
from nature_risk.backup.snapshot import take_snapshot

from infra.local.postgres import PostgresServer
from infra.local.tls import create_ca
from tests.integration.backup_support import (  # noqa: F401 - fixtures
    BackupBucket,
    ScratchDatabases,
    bucket_fixture,
    save_portfolio,
    scratch_fixture,
    table_rows,
)

SNAPSHOT_ID = "20261203T023000Z"
PRIVATE_NAME = "Private Portfolio Name 0815"


@pytest.fixture
def snapshot_source(scratch: ScratchDatabases, bucket: BackupBucket) -> list[str]:
    """Take a snapshot of a database with two portfolios; return its holdings."""
    source = scratch.connect(scratch.create(migrated=True))
    for number in range(2):
        save_portfolio(
            source,
            f"{PRIVATE_NAME} {number}",
            [{"row": 2, "commodity": "Soy", "country": "BR", "tonnes": 5}],
            owner="user-9",
            module="agriculture",
        )
    take_snapshot(source, bucket.s3, bucket.target(), SNAPSHOT_ID)
    return table_rows(source, "holdings")


def test_cli_restore_loads_snapshot(
    snapshot_source: list[str],
    database_secret: str,
    clean_database: PostgresServer,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)

    status = main(["restore", "latest"])
    output = capsys.readouterr()
    connection = clean_database.connect()
    restored = table_rows(connection, "holdings")
    connection.close()

    assert status == 0
    assert restored == snapshot_source
    assert f"snapshot {SNAPSHOT_ID} restored: " in output.out
    # The progress bar shows byte counts, never what the rows contain.
    assert "100%" in output.err
    assert PRIVATE_NAME not in output.err
    assert PRIVATE_NAME not in output.out


def test_cli_restore_rejects_non_empty_database(
    snapshot_source: list[str],
    database_secret: str,
    clean_database: PostgresServer,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    assert main(["restore", SNAPSHOT_ID, "--no-progress"]) == 0
    capsys.readouterr()

    second = main(["restore", SNAPSHOT_ID, "--no-progress"])
    rejected = capsys.readouterr()
    replaced = main(["restore", SNAPSHOT_ID, "--no-progress", "--overwrite"])
    connection = clean_database.connect()
    restored = table_rows(connection, "holdings")
    connection.close()

    assert second == 1
    assert "ERROR: the target database has rows in" in rejected.err
    assert "--overwrite" in rejected.err
    assert replaced == 0
    assert restored == snapshot_source


def test_cli_restore_reports_unknown_snapshot(
    database_secret: str,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)

    status = main(["restore", "latest", "--no-progress"])

    assert status == 1
    assert "no complete snapshot" in capsys.readouterr().err


def test_cli_database_error_hides_row_values(
    snapshot_source: list[str],
    database_secret: str,
    clean_database: PostgresServer,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    admin = clean_database.connect()
    # PostgreSQL's message for a failed CHECK quotes the whole failing row.
    admin.run(
        "ALTER TABLE portfolios ADD CONSTRAINT backup_test_rejects_names "
        "CHECK (name NOT LIKE 'Private%')"
    )
    try:
        status = main(["restore", SNAPSHOT_ID, "--no-progress"])
    finally:
        admin.run("ALTER TABLE portfolios DROP CONSTRAINT backup_test_rejects_names")
    errors = capsys.readouterr().err
    rows = admin.run("SELECT count(*) FROM portfolios")
    admin.close()

    assert status == 1
    assert "SQLSTATE 23514" in errors
    assert PRIVATE_NAME not in errors
    assert rows == [[0]]


def test_cli_restore_wrong_ca_names_cause(
    snapshot_source: list[str],
    database_secret: str,
    clean_database: PostgresServer,
    bucket: BackupBucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    create_ca(tmp_path / "other-ca")
    monkeypatch.setenv("BACKUP_BUCKET", bucket.name)
    monkeypatch.setenv("DB_CA_BUNDLE", str(tmp_path / "other-ca" / "ca.pem"))

    status = main(["restore", "latest", "--no-progress"])
    output = capsys.readouterr()
    connection = clean_database.connect()
    restored = table_rows(connection, "portfolios")
    connection.close()

    assert status == 1
    assert output.err.startswith("ERROR: certificate verification failed")
    assert "Try again later" not in output.err
    assert restored == []
    assert PRIVATE_NAME not in output.err + output.out
