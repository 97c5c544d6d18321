"""The portfolio store and its connection, against the real TLS-only server."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import uuid
from pathlib import Path

import boto3
import pg8000.native
import pytest
from nature_risk.config.database import DatabaseSettings, PortfolioLimits
from nature_risk.errors import (
    Conflict,
    InputError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
)
from nature_risk.storage import migrations
from nature_risk.storage import portfolios as repository
from nature_risk.storage.cursors import InvalidCursor
from nature_risk.storage.db import (
    Credentials,
    Database,
    DatabaseFailure,
    IamTokenCredentials,
    SecretCredentials,
    credentials_from_settings,
)

from infra.local.postgres import PostgresServer
from tests.canary.capture import capture_output
from tests.integration.conftest import AWS_REGION

LIMITS = PortfolioLimits()
HOLDINGS = [
    {"row": 2, "code": "A_1_11_111", "amount": 1000.0},
    {"row": 3, "code": "C_10_101", "amount": 250.5, "name": "Ferme d'Été"},
]


class FixedCredentials:
    """A credential source that returns one login, for tests without moto."""

    def __init__(self, server: PostgresServer) -> None:
        self.login = Credentials(server.user, server.password)
        self.invalidated = 0

    def get(self) -> Credentials:
        return self.login

    def invalidate(self) -> None:
        self.invalidated += 1


def settings_for(server: PostgresServer, **overrides: object) -> DatabaseSettings:
    settings = DatabaseSettings(
        host="localhost",
        name=server.database,
        port=server.port,
        secret_arn="unused",
        ca_bundle=server.ca_file,
    )
    return settings._replace(**overrides)


def database_for(server: PostgresServer, **overrides: object) -> Database:
    return Database(settings_for(server, **overrides), FixedCredentials(server))


def draft(name: str = "Main book", holdings: list | None = None, **fields: str):
    return repository.PortfolioDraft(
        name=name,
        module=fields.get("module", "natural_capital"),
        currency=fields.get("currency", "EUR"),
        holdings=HOLDINGS if holdings is None else holdings,
    )


def count_rows(server: PostgresServer, table: str) -> int:
    connection = server.connect()
    try:
        return connection.run(f"SELECT count(*) FROM {table}")[0][0]
    finally:
        connection.close()


# Migrations ---------------------------------------------------------------


def test_migrations_second_run_applies_nothing(postgres: PostgresServer) -> None:
    connection = postgres.connect()
    try:
        assert migrations.apply_migrations(connection) == []
        recorded = connection.run("SELECT version, sha256 FROM schema_migrations")
    finally:
        connection.close()
    files = migrations.discover_migrations()
    assert [row[0] for row in recorded] == [m.version for m in files]
    assert [row[1] for row in recorded] == [m.sha256 for m in files]


@pytest.fixture
def scratch_database(postgres: PostgresServer):
    """A new empty database owned by the app user, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = postgres.connect_superuser(database="postgres")
    admin.run(f"CREATE DATABASE {name} OWNER {postgres.user}")
    try:
        yield name
    finally:
        admin.run(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def test_migrations_fresh_database_applies_all(
    postgres: PostgresServer, scratch_database: str
) -> None:
    connection = postgres.connect(database=scratch_database)
    try:
        applied = migrations.apply_migrations(connection)
        tables = connection.run(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' ORDER BY table_name"
        )
    finally:
        connection.close()
    assert applied == [m.version for m in migrations.discover_migrations()]
    names = [row[0] for row in tables]
    for table in ("deleted_portfolios", "holdings", "portfolios", "schema_migrations"):
        assert table in names


def test_migrations_edited_file_rejected(
    postgres: PostgresServer, scratch_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.DEFAULT_MIGRATIONS_DIR, folder)
    connection = postgres.connect(database=scratch_database)
    try:
        migrations.apply_migrations(connection, folder)
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(migrations.MigrationError, match="changed after"):
            migrations.apply_migrations(connection, folder)
    finally:
        connection.close()


def test_migrations_failing_file_records_nothing(
    postgres: PostgresServer, scratch_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_good.sql").write_text("CREATE TABLE kept (id integer);")
    (folder / "0002_bad.sql").write_text(
        "CREATE TABLE half (id integer); SELECT no_such_function();"
    )
    connection = postgres.connect(database=scratch_database)
    try:
        with pytest.raises(pg8000.native.DatabaseError):
            migrations.apply_migrations(connection, folder)
        recorded = connection.run("SELECT version FROM schema_migrations")
        half = connection.run("SELECT to_regclass('half')")
    finally:
        connection.close()
    assert recorded == [[1]]
    assert half == [[None]]


def test_migrations_bad_file_name_rejected(tmp_path: Path) -> None:
    (tmp_path / "add_table.sql").write_text("SELECT 1;")
    with pytest.raises(migrations.MigrationError, match="NNNN_name.sql"):
        migrations.discover_migrations(tmp_path)


# Repository ---------------------------------------------------------------


def test_create_and_get_round_trip(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    with database.transaction() as connection:
        loaded = repository.get_portfolio(connection, "alice", created.id)
    assert loaded.holdings == HOLDINGS
    assert loaded.name == "Main book"
    assert loaded.version == 1
    assert loaded.holdings_count == 2
    assert loaded.created_at == loaded.updated_at
    assert created.id.version == 4


@pytest.mark.parametrize(
    "name",
    [
        'O\'Brien "Fund"',
        "x'); DROP TABLE portfolios; --",
        "Robert'); DELETE FROM holdings WHERE ('1'='1",
        "🌍🌱 Nature 👩🏽‍🌾",
        "עברית مرحبا",
        "e\u0301 combining",
        "  spaces kept  ",
        "back\\slash % _ $1 :name",
    ],
)
def test_name_stored_exactly(clean_database: PostgresServer, name: str) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(name), LIMITS)
    with database.transaction() as connection:
        loaded = repository.get_portfolio(connection, "alice", created.id)
    assert loaded.name == name
    assert count_rows(clean_database, "portfolios") == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("tab\there", "contains a control character"),
        ("null\x00byte", "contains a control character"),
        ("line\nbreak", "contains a control character"),
        ("c1\x85char", "contains a control character"),
        ("lone \ud800 surrogate", "contains a control character"),
        ("", "missing"),
        ("   ", "missing"),
        ("x" * (LIMITS.max_name_length + 1), "longer than 200 characters"),
    ],
)
def test_name_rejected_with_reason(name: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        repository.validate_draft(draft(name), LIMITS)
    assert [p.to_dict() for p in caught.value.problems] == [
        {"field": "name", "reason": reason}
    ]


def test_module_and_currency_rejected() -> None:
    with pytest.raises(InputError) as caught:
        repository.validate_draft(draft(module="forestry", currency="eur"), LIMITS)
    fields = [problem.field for problem in caught.value.problems]
    assert fields == ["module", "currency"]


def test_holdings_over_limit_rejected() -> None:
    limits = PortfolioLimits(max_holdings=1)
    with pytest.raises(PayloadTooLarge, match="at most 1 holdings"):
        repository.validate_draft(draft(), limits)


def test_nul_in_holding_rejected_with_row(clean_database: PostgresServer) -> None:
    # Spreadsheet rows: a blank row 3 leaves the second holding at row 4.
    holdings = [{"row": 2, "code": "A"}, {"row": 4, "code": "B\x00"}]
    database = database_for(clean_database)
    with pytest.raises(InputError) as caught:
        with database.transaction() as connection:
            repository.create_portfolio(
                connection, "alice", draft(holdings=holdings), LIMITS
            )
    problems = [problem.to_dict() for problem in caught.value.problems]
    assert problems == [
        {"row": 4, "field": "code", "reason": "contains a NUL character"}
    ]
    assert count_rows(clean_database, "portfolios") == 0


def test_nul_in_json_holding_named_by_index(clean_database: PostgresServer) -> None:
    holdings = [{"row": 0, "code": "A"}, {"row": 1, "code": "B", "name": "\x00"}]
    json_draft = dataclasses.replace(draft(holdings=holdings), records_field="holdings")
    database = database_for(clean_database)
    with pytest.raises(InputError) as caught:
        with database.transaction() as connection:
            repository.create_portfolio(connection, "alice", json_draft, LIMITS)
    problems = [problem.to_dict() for problem in caught.value.problems]
    assert problems == [
        {"field": "holdings[1].name", "reason": "contains a NUL character"}
    ]


def test_portfolio_limit_per_user(clean_database: PostgresServer) -> None:
    limits = PortfolioLimits(max_portfolios_per_user=2)
    database = database_for(clean_database)
    for _ in range(2):
        with database.transaction() as connection:
            repository.create_portfolio(connection, "alice", draft(), limits)
    with pytest.raises(Conflict, match="at most 2 portfolios"):
        with database.transaction() as connection:
            repository.create_portfolio(connection, "alice", draft(), limits)
    with database.transaction() as connection:
        repository.create_portfolio(connection, "bob", draft(), limits)
    assert count_rows(clean_database, "portfolios") == 3


def test_portfolio_limit_holds_concurrently(clean_database: PostgresServer) -> None:
    limits = PortfolioLimits(max_portfolios_per_user=3)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def create() -> None:
        database = database_for(clean_database)
        start.wait()
        try:
            with database.transaction() as connection:
                repository.create_portfolio(connection, "alice", draft(), limits)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            database.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 3
    assert outcomes.count("conflict") == 5
    assert count_rows(clean_database, "portfolios") == 3


def test_other_owner_gets_not_found(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    calls = [
        lambda c: repository.get_portfolio(c, "bob", created.id),
        lambda c: repository.replace_portfolio(
            c, "bob", created.id, 1, draft(), LIMITS
        ),
        lambda c: repository.delete_portfolio(c, "bob", created.id),
        lambda c: repository.get_portfolio(c, "alice", uuid.uuid4()),
    ]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            with database.transaction() as connection:
                call(connection)
        assert caught.value.message == repository.NOT_FOUND_MESSAGE
    with database.transaction() as connection:
        assert repository.export_portfolios(connection, "bob") == []
        assert repository.delete_all_portfolios(connection, "bob") == 0
    assert count_rows(clean_database, "portfolios") == 1
    assert count_rows(clean_database, "holdings") == 2


def test_replace_bumps_version(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    new_holdings = [{"code": "B_5", "amount": 1.0}]
    with database.transaction() as connection:
        replaced = repository.replace_portfolio(
            connection, "alice", created.id, 1, draft("Renamed", new_holdings), LIMITS
        )
    with database.transaction() as connection:
        loaded = repository.get_portfolio(connection, "alice", created.id)
    assert replaced.version == 2
    assert loaded.name == "Renamed"
    assert loaded.holdings == new_holdings
    assert loaded.updated_at > loaded.created_at
    with pytest.raises(PreconditionFailed):
        with database.transaction() as connection:
            repository.replace_portfolio(
                connection, "alice", created.id, 1, draft(), LIMITS
            )


def test_concurrent_replace_one_wins(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def replace(index: int) -> None:
        worker = database_for(clean_database)
        holdings = [{"code": f"W{index}", "amount": float(index)}]
        start.wait()
        try:
            with worker.transaction() as connection:
                repository.replace_portfolio(
                    connection, "alice", created.id, 1, draft(holdings=holdings), LIMITS
                )
            outcomes.append(f"won {index}")
        except PreconditionFailed:
            outcomes.append("stale")
        finally:
            worker.close()

    threads = [threading.Thread(target=replace, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [outcome for outcome in outcomes if outcome.startswith("won")]
    assert len(winners) == 1
    assert outcomes.count("stale") == 5
    with database.transaction() as connection:
        loaded = repository.get_portfolio(connection, "alice", created.id)
    assert loaded.version == 2
    assert loaded.holdings == [
        {"code": f"W{winners[0][4:]}", "amount": float(winners[0][4:])}
    ]


def test_delete_records_id_and_time_only(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    with database.transaction() as connection:
        repository.delete_portfolio(connection, "alice", created.id)
    connection = clean_database.connect()
    try:
        columns = connection.run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'deleted_portfolios' ORDER BY ordinal_position"
        )
        recorded = connection.run("SELECT id FROM deleted_portfolios")
    finally:
        connection.close()
    assert [row[0] for row in columns] == ["id", "deleted_at"]
    assert recorded == [[created.id]]
    assert count_rows(clean_database, "portfolios") == 0
    assert count_rows(clean_database, "holdings") == 0


def test_delete_with_stale_version(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)
    with pytest.raises(PreconditionFailed):
        with database.transaction() as connection:
            repository.delete_portfolio(connection, "alice", created.id, 7)
    assert count_rows(clean_database, "portfolios") == 1
    with database.transaction() as connection:
        repository.delete_portfolio(connection, "alice", created.id, 1)
    assert count_rows(clean_database, "portfolios") == 0


def test_delete_all_only_own(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        for _ in range(3):
            repository.create_portfolio(connection, "alice", draft(), LIMITS)
        kept = repository.create_portfolio(connection, "bob", draft(), LIMITS)
    with database.transaction() as connection:
        assert repository.delete_all_portfolios(connection, "alice") == 3
    with database.transaction() as connection:
        remaining = repository.export_portfolios(connection, "bob")
    assert [portfolio.id for portfolio in remaining] == [kept.id]
    assert count_rows(clean_database, "deleted_portfolios") == 3
    assert count_rows(clean_database, "holdings") == 2


def test_list_pages_with_cursor(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    created = []
    for index in range(5):
        with database.transaction() as connection:
            created.append(
                repository.create_portfolio(
                    connection, "alice", draft(f"P{index}"), LIMITS
                )
            )
    with database.transaction() as connection:
        repository.create_portfolio(connection, "bob", draft("other"), LIMITS)
    seen = []
    cursor = None
    pages = 0
    while True:
        with database.transaction() as connection:
            page = repository.list_portfolios(connection, "alice", 2, cursor)
        pages += 1
        seen += [portfolio.id for portfolio in page.items]
        assert all(portfolio.holdings == [] for portfolio in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [portfolio.id for portfolio in created]
    assert pages == 3


@pytest.mark.parametrize("cursor", ["not-base64!", "aGVsbG8", "MjAyNnx4"])
def test_list_bad_cursor_rejected(clean_database: PostgresServer, cursor: str) -> None:
    database = database_for(clean_database)
    with pytest.raises(InvalidCursor) as caught:
        with database.transaction() as connection:
            repository.list_portfolios(connection, "alice", 2, cursor)
    assert caught.value.problems[0].field == "query.cursor"


def test_path_id_not_uuid_not_found() -> None:
    for value in ("1", "../etc", "' OR 1=1 --", ""):
        with pytest.raises(NotFound):
            repository.parse_portfolio_id(value)


def test_path_id_other_spelling_not_found() -> None:
    canonical = "6353bf4c-ac81-4388-9e94-841e61887258"
    spellings = [
        canonical.upper(),
        canonical.replace("-", ""),
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
        " " + canonical,
        canonical + "\n",
        canonical.replace("-", "", 1) + "-",
    ]
    assert str(repository.parse_portfolio_id(canonical)) == canonical
    for value in spellings:
        with pytest.raises(NotFound):
            repository.parse_portfolio_id(value)


# Transactions and failures ------------------------------------------------


def test_failure_between_writes_on_create(
    clean_database: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("injected failure after the portfolio row")

    monkeypatch.setattr(repository, "_insert_holdings", fail)
    database = database_for(clean_database)
    with pytest.raises(RuntimeError):
        with database.transaction() as connection:
            repository.create_portfolio(connection, "alice", draft(), LIMITS)
    assert count_rows(clean_database, "portfolios") == 0
    assert count_rows(clean_database, "holdings") == 0


def test_failure_between_writes_on_replace(
    clean_database: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        created = repository.create_portfolio(connection, "alice", draft(), LIMITS)

    # The server rejects the holdings statement after the UPDATE and DELETE ran.
    monkeypatch.setattr(repository, "_holdings_json", lambda holdings: "[not json")
    with pytest.raises(DatabaseFailure):
        with database.transaction() as connection:
            repository.replace_portfolio(
                connection, "alice", created.id, 1, draft("New name"), LIMITS
            )
    monkeypatch.undo()
    with database.transaction() as connection:
        loaded = repository.get_portfolio(connection, "alice", created.id)
    assert loaded.version == 1
    assert loaded.name == "Main book"
    assert loaded.holdings == HOLDINGS


def test_failure_between_writes_on_delete_all(
    clean_database: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        repository.create_portfolio(connection, "alice", draft(), LIMITS)

    def fail(*args: object) -> None:
        raise RuntimeError("injected failure before the deletion records")

    monkeypatch.setattr(repository, "_record_deletions", fail)
    with pytest.raises(RuntimeError):
        with database.transaction() as connection:
            repository.delete_all_portfolios(connection, "alice")
    assert count_rows(clean_database, "portfolios") == 1
    assert count_rows(clean_database, "holdings") == 2
    assert count_rows(clean_database, "deleted_portfolios") == 0


def test_server_error_text_not_exposed(clean_database: PostgresServer) -> None:
    marker = "MARKER-5f1c"
    database = database_for(clean_database)
    with capture_output() as output:
        with pytest.raises(DatabaseFailure) as caught:
            with database.transaction() as connection:
                connection.run("SELECT CAST(:value AS integer)", value=marker)
    logged = output.getvalue()
    assert marker not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert marker not in logged
    assert '"error_code":"sqlstate_22P02"' in logged


def test_statement_timeout_unavailable(clean_database: PostgresServer) -> None:
    database = database_for(clean_database, statement_timeout_ms=200)
    with pytest.raises(ServiceUnavailable, match="timed out"):
        with database.transaction() as connection:
            connection.run("SELECT pg_sleep(2)")
    with database.transaction() as connection:
        assert connection.run("SHOW statement_timeout") == [["200ms"]]


def test_connection_reused_across_transactions(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    pids = set()
    for _ in range(3):
        with database.transaction() as connection:
            pids.add(connection.run("SELECT pg_backend_pid()")[0][0])
    assert len(pids) == 1


def test_dead_connection_reopened_once(clean_database: PostgresServer) -> None:
    database = database_for(clean_database)
    with database.transaction() as connection:
        first_pid = connection.run("SELECT pg_backend_pid()")[0][0]
    admin = clean_database.connect_superuser()
    try:
        admin.run("SELECT pg_terminate_backend(:pid)", pid=first_pid)
    finally:
        admin.close()
    with database.transaction() as connection:
        second_pid = connection.run("SELECT pg_backend_pid()")[0][0]
    assert second_pid != first_pid


def test_unreachable_server_unavailable(clean_database: PostgresServer) -> None:
    from infra.local.postgres import free_port

    database = database_for(clean_database, port=free_port())
    with pytest.raises(ServiceUnavailable) as caught:
        with database.transaction():
            pass
    assert caught.value.message == "The database is unavailable. Try again later."


def test_wrong_password_retried_once(clean_database: PostgresServer) -> None:
    source = FixedCredentials(clean_database)
    source.login = Credentials(clean_database.user, "wrong-password")
    database = Database(settings_for(clean_database), source)
    with capture_output() as output:
        with pytest.raises(ServiceUnavailable):
            with database.transaction():
                pass
    assert source.invalidated == 1
    assert "wrong-password" not in output.getvalue()
    assert '"error_code":"sqlstate_28P01"' in output.getvalue()


# Secrets ------------------------------------------------------------------


def test_secret_read_through_moto(database_secret: str) -> None:
    settings = DatabaseSettings.from_env()
    database = Database(settings)
    with database.transaction() as connection:
        user = connection.run("SELECT current_user")[0][0]
    assert user == "nature_risk_app"
    assert settings.secret_arn == database_secret


def test_secret_cached_until_ttl(database_secret: str) -> None:
    now = [0.0]
    client = boto3.client("secretsmanager", region_name=AWS_REGION)
    calls = []

    def factory():
        calls.append(1)
        return client

    source = SecretCredentials(database_secret, factory, 300, clock=lambda: now[0])
    first = source.get()
    client.put_secret_value(
        SecretId=database_secret,
        SecretString='{"username": "rotated", "password": "p"}',
    )
    now[0] = 299.0
    assert source.get() == first
    now[0] = 301.0
    assert source.get().user == "rotated"
    assert len(calls) == 2
    assert "p'" not in repr(source.get())


def test_secret_rotation_picked_up(
    database_secret: str, clean_database: PostgresServer
) -> None:
    database = Database(DatabaseSettings.from_env())
    with database.transaction():
        pass
    database.close()
    new_password = uuid.uuid4().hex
    admin = clean_database.connect_superuser()
    try:
        admin.run(
            f"ALTER ROLE {clean_database.user} PASSWORD "
            f"{pg8000.native.literal(new_password)}"
        )
        client = boto3.client("secretsmanager", region_name=AWS_REGION)
        client.put_secret_value(
            SecretId=database_secret,
            SecretString=(
                f'{{"username": "{clean_database.user}", "password": "{new_password}"}}'
            ),
        )
        with database.transaction() as connection:
            assert connection.run("SELECT 1") == [[1]]
    finally:
        admin.run(
            f"ALTER ROLE {clean_database.user} PASSWORD "
            f"{pg8000.native.literal(clean_database.password)}"
        )
        admin.close()


def test_missing_secret_unavailable(aws_environment: None, postgres) -> None:
    settings = settings_for(
        postgres,
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:none",
        region=AWS_REGION,
    )
    with pytest.raises(ServiceUnavailable):
        with Database(settings).transaction():
            pass


def test_migrations_command_uses_settings(
    database_secret: str, scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_NAME", scratch_database)
    assert migrations.main() == 0
    assert migrations.main() == 0
    database = Database(DatabaseSettings.from_env())
    with database.transaction() as connection:
        versions = connection.run("SELECT version FROM schema_migrations")
    database.close()
    assert [row[0] for row in versions] == [
        m.version for m in migrations.discover_migrations()
    ]


def test_iam_token_credentials(aws_environment: None) -> None:
    settings = DatabaseSettings.from_env(
        {
            "DB_HOST": "db.example.internal",
            "DB_NAME": "nature_risk",
            "DB_IAM_AUTH": "true",
            "DB_USER": "nature_risk_app",
            "AWS_REGION": AWS_REGION,
        }
    )
    source = credentials_from_settings(settings)
    login = source.get()
    assert isinstance(source, IamTokenCredentials)
    assert login.user == "nature_risk_app"
    assert login.password.startswith("db.example.internal:5432/?")
    assert "Action=connect" in login.password
    assert "DBUser=nature_risk_app" in login.password
    assert login.password not in repr(login)
