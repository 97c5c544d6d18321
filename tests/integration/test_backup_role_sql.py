"""infra/rds/backup_role.sql makes a role that can read every table and write none.

The script runs with psql against the TLS-only test server, as it does against
RDS. The ``rds_iam`` role exists only on RDS, so the test creates a plain role
of that name first. A password replaces the IAM token for the sign-in.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pg8000.native
import pytest

from infra.local.postgres import PostgresServer
from tests.template.template_support import REPO_ROOT

SCRIPT = REPO_ROOT / "infra" / "rds" / "backup_role.sql"
BACKUP_USER = "nature_risk_backup_test"


def run_script(server: PostgresServer) -> subprocess.CompletedProcess[str]:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed")
    connection = (
        f"host={server.certificate_host} hostaddr={server.host} port={server.port} "
        f"dbname={server.database} user={server.superuser} "
        f"sslmode=verify-full sslrootcert={server.ca_file}"
    )
    return subprocess.run(
        [
            psql,
            connection,
            "--no-psqlrc",
            "-v",
            f"backup_user={BACKUP_USER}",
            "-v",
            f"owner={server.user}",
            "-f",
            str(SCRIPT),
        ],
        env={**os.environ, "PGPASSWORD": server.superuser_password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def backup_password(postgres: PostgresServer):
    admin = postgres.connect_superuser()
    try:
        if not admin.run("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'"):
            admin.run("CREATE ROLE rds_iam")
    finally:
        admin.close()

    first = run_script(postgres)
    assert first.returncode == 0, first.stderr
    again = run_script(postgres)
    assert again.returncode == 0, again.stderr

    password = secrets.token_hex(16)
    admin = postgres.connect_superuser()
    try:
        admin.run(
            f"ALTER ROLE {BACKUP_USER} PASSWORD {pg8000.native.literal(password)}"
        )
    finally:
        admin.close()
    yield password
    admin = postgres.connect_superuser()
    try:
        admin.run(f"REASSIGN OWNED BY {BACKUP_USER} TO {postgres.user}")
        admin.run(f"DROP OWNED BY {BACKUP_USER}")
        admin.run(f"DROP ROLE {BACKUP_USER}")
    finally:
        admin.close()


def connect_backup(server: PostgresServer, password: str):
    return server.connect(user=BACKUP_USER, password=password)


def test_backup_role_is_in_rds_iam(postgres, backup_password):
    connection = connect_backup(postgres, backup_password)
    try:
        member = connection.run("SELECT pg_has_role(current_user, 'rds_iam', 'MEMBER')")
    finally:
        connection.close()
    assert member == [[True]]


def test_backup_role_reads_every_table(postgres, backup_password):
    connection = connect_backup(postgres, backup_password)
    try:
        tables = connection.run(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        assert tables
        for (table,) in tables:
            connection.run(f"SELECT count(*) FROM {pg8000.native.identifier(table)}")
    finally:
        connection.close()


def test_backup_role_cannot_write(postgres, backup_password):
    connection = connect_backup(postgres, backup_password)
    try:
        with pytest.raises(pg8000.native.DatabaseError) as raised:
            connection.run("DELETE FROM portfolios")
    finally:
        connection.close()
    # SQLSTATE 25006 is a write in a read-only transaction, and 42501 is a
    # missing privilege.
    assert raised.value.args[0]["C"] in {"25006", "42501"}


def test_backup_role_reads_later_tables(postgres, backup_password):
    owner = postgres.connect()
    try:
        owner.run("CREATE TABLE backup_role_probe (id integer)")
        owner.run("CREATE SEQUENCE backup_role_probe_seq")
        reader = connect_backup(postgres, backup_password)
        try:
            assert reader.run("SELECT count(*) FROM backup_role_probe") == [[0]]
            reader.run("SELECT last_value FROM backup_role_probe_seq")
        finally:
            reader.close()
    finally:
        owner.run("DROP TABLE IF EXISTS backup_role_probe")
        owner.run("DROP SEQUENCE IF EXISTS backup_role_probe_seq")
        owner.close()
