"""Fixtures for tests against a real TLS-only PostgreSQL and moto.

``postgres`` starts one server for the whole session, with the migrations
applied. ``clean_database`` empties the product's tables before a test.
``database_secret`` stores the app user's credentials in moto's Secrets
Manager and points the ``DB_*`` variables at the server, as in AWS.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from nature_risk.storage.migrations import apply_migrations

from infra.local.postgres import PostgresServer, PostgresStartError, start_postgres

AWS_REGION = "eu-west-1"
SECRET_NAME = "nature-risk/database"
PRODUCT_TABLES = ("holdings", "portfolios", "deleted_portfolios")


def _server_binaries_present() -> bool:
    if shutil.which("initdb"):
        return True
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A TLS-only PostgreSQL server for the session, migrated to the newest schema."""
    if not _server_binaries_present():
        pytest.skip("PostgreSQL server binaries are not installed (make system-deps)")
    try:
        server = start_postgres(tmp_path_factory.mktemp("postgres"))
    except PostgresStartError as error:
        pytest.fail(f"the test PostgreSQL server did not start: {error}")
    try:
        connection = server.connect()
        try:
            apply_migrations(connection)
        finally:
            connection.close()
        yield server
    finally:
        server.stop()


@pytest.fixture
def clean_database(postgres: PostgresServer) -> PostgresServer:
    """The session server with every product table emptied."""
    connection = postgres.connect()
    try:
        connection.run("TRUNCATE " + ", ".join(PRODUCT_TABLES))
    finally:
        connection.close()
    return postgres


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake AWS credentials and moto's in-memory AWS for the test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_REGION", AWS_REGION)
    with mock_aws():
        yield


@pytest.fixture
def database_secret(
    clean_database: PostgresServer,
    aws_environment: None,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """Store the app user's credentials as an RDS-style secret; set ``DB_*``.

    Returns the secret's ARN.
    """
    client = boto3.client("secretsmanager", region_name=AWS_REGION)
    secret = client.create_secret(
        Name=SECRET_NAME,
        SecretString=clean_database.secret_string(),
    )
    for name, value in clean_database.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DB_SECRET_ARN", secret["ARN"])
    monkeypatch.delenv("DB_IAM_AUTH", raising=False)
    return secret["ARN"]
