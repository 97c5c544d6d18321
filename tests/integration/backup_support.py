"""Fixtures for the backup tests: throw-away databases and a moto backup bucket.

Each test gets its own source and target databases on the session's TLS-only
server, so the tables a test adds never reach another test. A test module
imports ``scratch_fixture`` and ``bucket_fixture`` to use the fixtures
``scratch`` and ``bucket``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pg8000.native
import pytest
from nature_risk.backup.snapshot import SnapshotTarget
from nature_risk.config.database import PortfolioLimits
from nature_risk.storage import portfolios as repository
from nature_risk.storage.migrations import apply_migrations

from infra.local.postgres import PostgresServer
from tests.integration.conftest import AWS_REGION

BUCKET = "nature-risk-backups-test"


@dataclass
class ScratchDatabases:
    """Creates empty databases owned by the app user and drops them afterwards."""

    server: PostgresServer
    created: list[str]

    def create(self, *, migrated: bool) -> str:
        name = f"backup_{uuid.uuid4().hex[:12]}"
        admin = self.server.connect_superuser(database="postgres")
        try:
            admin.run(f"CREATE DATABASE {name} OWNER {self.server.user}")
        finally:
            admin.close()
        self.created.append(name)
        if migrated:
            connection = self.connect(name)
            try:
                apply_migrations(connection)
            finally:
                connection.close()
        return name

    def connect(self, name: str) -> pg8000.native.Connection:
        return self.server.connect(database=name)

    def drop_all(self) -> None:
        admin = self.server.connect_superuser(database="postgres")
        try:
            for name in self.created:
                admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            admin.close()


@pytest.fixture(name="scratch")
def scratch_fixture(postgres: PostgresServer) -> Iterator[ScratchDatabases]:
    databases = ScratchDatabases(postgres, [])
    try:
        yield databases
    finally:
        databases.drop_all()


@dataclass
class BackupBucket:
    """A moto bucket set up like the template's: versioned, SSE-KMS by default."""

    s3: Any
    name: str
    kms_key_arn: str

    def target(self, **overrides: Any) -> SnapshotTarget:
        values: dict[str, Any] = {
            "bucket": self.name,
            "kms_key_id": self.kms_key_arn,
            "part_size": 5 * 1024 * 1024,
        }
        values.update(overrides)
        return SnapshotTarget(**values)

    def keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def open_uploads(self) -> list[dict[str, Any]]:
        return self.s3.list_multipart_uploads(Bucket=self.name).get("Uploads", [])


@pytest.fixture(name="bucket")
def bucket_fixture(aws_environment: None) -> BackupBucket:
    kms = boto3.client("kms", region_name=AWS_REGION)
    key_arn = kms.create_key(Description="backup test key")["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3", region_name=AWS_REGION)
    s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": AWS_REGION}
    )
    s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return BackupBucket(s3, BUCKET, key_arn)


def save_portfolio(
    connection: pg8000.native.Connection,
    name: str,
    holdings: list[dict[str, Any]],
    *,
    owner: str = "user-1",
    module: str = "natural_capital",
    currency: str = "EUR",
) -> repository.Portfolio:
    """Save one portfolio through the product's repository, in its own
    transaction."""
    draft = repository.PortfolioDraft(
        name=name, module=module, currency=currency, holdings=holdings
    )
    connection.run("START TRANSACTION")
    saved = repository.create_portfolio(connection, owner, draft, PortfolioLimits())
    connection.run("COMMIT")
    return saved


def table_rows(connection: pg8000.native.Connection, table: str) -> list[str]:
    """Every row of ``table`` as PostgreSQL's own text form, sorted.

    The row's text form keeps NULL (empty between commas) apart from an empty
    string (``""``), and shows every value exactly as stored.
    """
    rows = connection.run(f"SELECT t::text FROM {table} t")
    return sorted(row[0] for row in rows)


ConnectFactory = Callable[[], pg8000.native.Connection]
