"""TLS to the database: verified certificate and host name, or a 503 without detail.

The server accepts TLS only (``hostssl`` lines), the client verifies against
the configured CA bundle and checks the host name, and every failure reaches
the caller as the same fixed 503 body.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pg8000.native
import pytest

from infra.local.postgres import PostgresServer, start_postgres
from infra.local.tls import create_ca
from tests.canary.capture import capture_output
from tests.events import http_event, lambda_context
from tests.functions import load_function

CLAIMS = {"sub": "alice-0001"}
UNAVAILABLE = {
    "code": "service_unavailable",
    "message": "The database is unavailable. Try again later.",
}


def list_portfolios(function: ModuleType) -> dict:
    event = http_event("GET", "/portfolios", route_key="GET /portfolios", claims=CLAIMS)
    return function.lambda_handler(event, lambda_context("portfolio"))


@pytest.fixture
def load_portfolio(database_secret: str) -> Iterator:
    """Load the portfolio function fresh after the test changed DB_* variables."""
    loaded: list[ModuleType] = []

    def load() -> ModuleType:
        function = load_function("portfolio", fresh=True)
        loaded.append(function)
        return function

    yield load
    for function in loaded:
        function.reset_database()


@pytest.fixture(scope="module")
def misnamed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A second server whose certificate names another host and no IP address."""
    server = start_postgres(
        tmp_path_factory.mktemp("misnamed"),
        server_names=("db.example.internal",),
        server_addresses=(),
    )
    yield server
    server.stop()


class PlainTextOnlyServer:
    """A listener on 127.0.0.1 that declines TLS, like a server without ssl=on."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(8)  # the SSLRequest message
                self.requests += 1
                connection.sendall(b"N")

    def close(self) -> None:
        self.listener.close()


def assert_unavailable_without_detail(response: dict) -> None:
    error = json.loads(response["body"])["error"]
    request_id = error.pop("request_id", None)
    assert response["statusCode"] == 503
    assert error == UNAVAILABLE
    assert request_id is None or isinstance(request_id, str)


def test_plain_text_connection_rejected(postgres: PostgresServer) -> None:
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        pg8000.native.Connection(
            user=postgres.user,
            password=postgres.password,
            host=postgres.host,
            port=postgres.port,
            database=postgres.database,
            ssl_context=False,
        )
    assert caught.value.args[0]["C"] == "28000"
    assert "no encryption" in caught.value.args[0]["M"]


def test_superuser_plain_text_rejected(postgres: PostgresServer) -> None:
    with pytest.raises(pg8000.native.DatabaseError) as caught:
        pg8000.native.Connection(
            user=postgres.superuser,
            password=postgres.superuser_password,
            host=postgres.host,
            port=postgres.port,
            database="postgres",
            ssl_context=False,
        )
    assert caught.value.args[0]["C"] == "28000"


def test_server_config_is_tls_only(postgres: PostgresServer) -> None:
    admin = postgres.connect_superuser()
    try:
        rules = admin.run("SELECT type FROM pg_hba_file_rules")
        ssl_on = admin.run("SHOW ssl")[0][0]
        listen = admin.run("SHOW listen_addresses")[0][0]
        connection_ssl = admin.run(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )[0][0]
    finally:
        admin.close()
    assert {row[0] for row in rules} == {"hostssl"}
    assert ssl_on == "on"
    assert listen == "127.0.0.1"
    assert connection_ssl is True


def test_default_pg8000_context_not_used(postgres: PostgresServer) -> None:
    # pg8000's own ssl_context=True skips verification; ours must fail on a
    # certificate from another CA where that one would connect.
    unverified = pg8000.native.Connection(
        user=postgres.user,
        password=postgres.password,
        host="localhost",
        port=postgres.port,
        database=postgres.database,
        ssl_context=True,
    )
    unverified.close()
    from nature_risk.config.database import DatabaseSettings
    from nature_risk.storage.db import build_ssl_context

    context = build_ssl_context(
        DatabaseSettings(host="localhost", name="x", ca_bundle=postgres.ca_file)
    )
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_function_works_with_right_ca(load_portfolio) -> None:
    response = list_portfolios(load_portfolio())
    assert response["statusCode"] == 200


def test_wrong_ca_unavailable(
    load_portfolio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_ca = create_ca(tmp_path / "other", "another CA")
    monkeypatch.setenv("DB_CA_BUNDLE", str(other_ca.cert_file))
    assert_unavailable_without_detail(list_portfolios(load_portfolio()))


def test_missing_ca_bundle_unavailable(
    load_portfolio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_CA_BUNDLE", str(tmp_path / "absent.pem"))
    assert_unavailable_without_detail(list_portfolios(load_portfolio()))


def test_wrong_host_name_unavailable(
    load_portfolio, misnamed_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CA is right, so only the host-name check can reject the server.
    monkeypatch.setenv("DB_PORT", str(misnamed_server.port))
    monkeypatch.setenv("DB_CA_BUNDLE", str(misnamed_server.ca_file))
    for host in ("localhost", "127.0.0.1"):
        monkeypatch.setenv("DB_HOST", host)
        assert_unavailable_without_detail(list_portfolios(load_portfolio()))


def test_wrong_host_name_fails_handshake(misnamed_server: PostgresServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|IP"):
        misnamed_server.connect(host="localhost")


def test_server_without_tls_unavailable(
    load_portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = PlainTextOnlyServer()
    try:
        monkeypatch.setenv("DB_PORT", str(plain.port))
        response = list_portfolios(load_portfolio())
    finally:
        plain.close()
    assert_unavailable_without_detail(response)
    assert plain.requests >= 1


def test_failures_log_class_only(
    load_portfolio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_ca = create_ca(tmp_path / "other", "another CA")
    monkeypatch.setenv("DB_CA_BUNDLE", str(other_ca.cert_file))
    function = load_portfolio()
    with capture_output() as output:
        list_portfolios(function)
    logged = output.getvalue()
    assert "certificate verify failed" not in logged
    assert str(tmp_path) not in logged
    assert '"error_class":"SSLCertVerificationError"' in logged
