"""The application's tables, columns and sequences that a snapshot copies.

Every ordinary table in the connection's current schema is copied, except the
migrations ledger, which the restore rebuilds by running the migrations. Tables
come parent-first along their foreign keys, so a restore can load them in the
same order with every constraint checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pg8000.native

from nature_risk.storage.migrations import DEFAULT_MIGRATIONS_DIR, discover_migrations

# The migrations runner's ledger: its rows describe the schema, not the data.
MIGRATIONS_TABLE = "schema_migrations"

TABLES_SQL = """
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND c.relname <> :ledger
ORDER BY c.relname
"""

COLUMNS_SQL = """
SELECT c.relname, a.attname
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY c.relname, a.attnum
"""

FOREIGN_KEYS_SQL = """
SELECT child.relname, parent.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE k.contype = 'f' AND n.nspname = current_schema()
"""

SEQUENCES_SQL = """
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'S'
ORDER BY c.relname
"""


@dataclass(frozen=True, slots=True)
class Table:
    """One table to copy and the columns, in table order, that COPY names."""

    name: str
    columns: list[str]

    def copy_target(self) -> str:
        """Return ``"table" ("col", ...)`` quoted for a COPY statement."""
        columns = ", ".join(pg8000.native.identifier(name) for name in self.columns)
        return f"{pg8000.native.identifier(self.name)} ({columns})"


def list_tables(connection: pg8000.native.Connection) -> list[Table]:
    """List the application's tables, parents before the tables that reference
    them."""
    names = [row[0] for row in connection.run(TABLES_SQL, ledger=MIGRATIONS_TABLE)]
    columns: dict[str, list[str]] = {name: [] for name in names}
    for table, column in connection.run(COLUMNS_SQL):
        if table in columns:
            columns[table].append(column)
    parents: dict[str, set[str]] = {name: set() for name in names}
    for child, parent in connection.run(FOREIGN_KEYS_SQL):
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    return [Table(name, columns[name]) for name in _parents_first(names, parents)]


def _parents_first(names: list[str], parents: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []
    placed: set[str] = set()
    remaining = list(names)
    while remaining:
        ready = [name for name in remaining if parents[name] <= placed]
        if not ready:
            # A cycle of foreign keys: keep the rest in name order. Loading
            # then relies on the constraints being deferrable.
            ready = remaining
        for name in ready:
            ordered.append(name)
            placed.add(name)
        remaining = [name for name in remaining if name not in placed]
    return ordered


def list_sequences(connection: pg8000.native.Connection) -> list[str]:
    """List the sequences in the current schema."""
    return [row[0] for row in connection.run(SEQUENCES_SQL)]


def read_sequence(connection: pg8000.native.Connection, name: str) -> tuple[int, bool]:
    """Return a sequence's ``last_value`` and ``is_called``."""
    rows = connection.run(
        f"SELECT last_value, is_called FROM {pg8000.native.identifier(name)}"  # noqa: S608 - quoted catalog name
    )
    last_value, is_called = rows[0]
    return int(last_value), bool(is_called)


def ledger_exists(connection: pg8000.native.Connection) -> bool:
    """Tell whether the migrations ledger exists in the current schema."""
    rows = connection.run(
        "SELECT to_regclass(quote_ident(current_schema()) || '.' || :ledger)",
        ledger=MIGRATIONS_TABLE,
    )
    return rows[0][0] is not None


def schema_version(connection: pg8000.native.Connection) -> int:
    """Return the highest migration version the database has applied, or 0."""
    if not ledger_exists(connection):
        return 0
    rows = connection.run(
        f"SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE}"  # noqa: S608 - constant
    )
    return int(rows[0][0])


def known_schema_versions(directory: Path | None = None) -> set[int]:
    """Return the versions of the migration files in ``directory`` (by default
    the repository's migrations folder)."""
    migrations = discover_migrations(directory or DEFAULT_MIGRATIONS_DIR)
    return {migration.version for migration in migrations}
