"""Apply the versioned SQL migrations in order, once each.

Migration files are named ``NNNN_description.sql`` (``0001_portfolios.sql``).
The runner records each applied file's version, name and SHA-256 in
``schema_migrations``, so running it again applies nothing. A recorded file
whose content changed raises ``MigrationError`` instead of being re-applied.
Each migration runs in its own transaction together with its record, under an
advisory lock, so two runners started at once apply each file exactly once.

Run it with ``python -m nature_risk.storage.migrations``; it reads the
``DB_*`` settings like the functions do.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pg8000.native

logger = logging.getLogger(__name__)

# The repository's migrations folder, used when DB_MIGRATIONS_DIR is unset.
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "infra" / "migrations"

# Any fixed 64-bit number works; it only has to be the same for every runner.
ADVISORY_LOCK_KEY = 7_406_211_901

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migrations folder or the recorded history is inconsistent."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file: its version number, name, text and SHA-256 hex digest."""

    version: int
    name: str
    sql: str
    sha256: str


def discover_migrations(directory: Path = DEFAULT_MIGRATIONS_DIR) -> list[Migration]:
    """Read every ``NNNN_name.sql`` file in ``directory``, sorted by version."""
    if not directory.is_dir():
        raise MigrationError(f"migrations folder {directory} does not exist")
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name} is not named NNNN_name.sql"
            )
        content = path.read_bytes()
        migrations.append(
            Migration(
                version=int(match["version"]),
                name=match["name"],
                sql=content.decode("utf-8"),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


def _recorded(connection: pg8000.native.Connection) -> dict[int, tuple[str, str]]:
    rows = connection.run("SELECT version, name, sha256 FROM schema_migrations")
    return {version: (name, digest) for version, name, digest in rows}


def _check_history(
    migrations: list[Migration], recorded: dict[int, tuple[str, str]]
) -> None:
    known = {migration.version: migration for migration in migrations}
    for version, (name, digest) in recorded.items():
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d}_{name} is recorded but its file is missing"
            )
        if migration.sha256 != digest:
            raise MigrationError(
                f"migration {version:04d}_{name} changed after it was applied: "
                "add a new migration instead of editing an applied one"
            )


def apply_migrations(
    connection: pg8000.native.Connection,
    directory: Path = DEFAULT_MIGRATIONS_DIR,
) -> list[int]:
    """Apply the pending migrations and return the versions applied now.

    ``connection`` must not be inside a transaction.
    """
    migrations = discover_migrations(directory)
    connection.run(CREATE_LEDGER)
    applied_now: list[int] = []
    for migration in migrations:
        connection.run("START TRANSACTION")
        try:
            connection.run("SELECT pg_advisory_xact_lock(:key)", key=ADVISORY_LOCK_KEY)
            recorded = _recorded(connection)
            _check_history(migrations, recorded)
            if migration.version in recorded:
                connection.run("ROLLBACK")
                continue
            connection.run(migration.sql)
            connection.run(
                "INSERT INTO schema_migrations (version, name, sha256) "
                "VALUES (:version, :name, :sha256)",
                version=migration.version,
                name=migration.name,
                sha256=migration.sha256,
            )
            connection.run("COMMIT")
        except BaseException:
            with contextlib.suppress(pg8000.native.Error):
                connection.run("ROLLBACK")
            raise
        applied_now.append(migration.version)
        logger.info("Applied a migration")
    return applied_now


def main() -> int:
    """Apply the migrations to the database the ``DB_*`` variables name.

    Returns the process exit status. A missing setting or a failed connection
    is reported on one line, without a traceback.
    """
    from nature_risk.config import ConfigurationError
    from nature_risk.config.database import DatabaseSettings
    from nature_risk.errors import NatureRiskError
    from nature_risk.storage.db import open_connection

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        settings = DatabaseSettings.from_env()
        connection = open_connection(settings)
    except ConfigurationError as error:
        sys.stderr.write(f"ERROR: {error}\n")
        return 1
    except NatureRiskError as error:
        sys.stderr.write(f"ERROR: {error.message}\n")
        return 1
    try:
        applied = apply_migrations(
            connection, settings.migrations_dir or DEFAULT_MIGRATIONS_DIR
        )
    finally:
        connection.close()
    # The versions are numbers from file names, never user input.
    sys.stdout.write(f"Applied {len(applied)} migrations: {applied}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
