"""Start a throw-away PostgreSQL server that accepts TLS connections only.

The tests and ``make run`` use it. The server listens on 127.0.0.1 alone, on a
free port, with a certificate from a CA made for this run. Its ``pg_hba.conf``
has ``hostssl`` lines with scram-sha-256 and nothing else, so a plain-text TCP
connection and every unix-socket connection are rejected.

When the caller is root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` OS
user, because ``initdb`` rejects root. The data folder then lives in a fresh
folder under the system temp directory, owned by that user, because it cannot
traverse a root-owned 0700 ``workdir`` such as pytest's.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pg8000.native

from infra.local.tls import create_ca, issue_server_certificate

HOST = "127.0.0.1"
SERVER_OS_USER = "postgres"
SUPERUSER = "postgres"
APP_DATABASE = "nature_risk"
APP_USER = "nature_risk_app"
START_TIMEOUT_SECONDS = 60
START_ATTEMPTS = 3


class PostgresStartError(RuntimeError):
    """The local PostgreSQL server could not be set up or started."""


def find_binary(name: str) -> Path:
    """Find a PostgreSQL server binary in PATH or /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if not candidates:
        raise PostgresStartError(
            f"{name} not found in PATH or /usr/lib/postgresql/*/bin: "
            "install the PostgreSQL server package"
        )
    return Path(max(candidates, key=lambda path: int(Path(path).parts[4])))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def verifying_context(ca_file: Path) -> ssl.SSLContext:
    """Build a client context that checks the certificate chain and host name."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass
class PostgresServer:
    """A running local server and the credentials to reach it over TLS."""

    host: str
    port: int
    ca_file: Path
    database: str
    user: str
    password: str
    superuser: str
    superuser_password: str
    data_dir: Path
    log_file: Path
    # A name the server certificate is valid for, checked by connect().
    certificate_host: str
    _pg_ctl: Path = field(repr=False)
    _run_as: list[str] = field(repr=False)
    _owned_root: Path | None = field(default=None, repr=False)
    _running: bool = field(default=True, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        """Build a context that verifies this server against its CA."""
        return verifying_context(self.ca_file)

    def connect(self, **overrides: object) -> pg8000.native.Connection:
        """Open a pg8000 native connection over verified TLS as the app user.

        Keyword arguments override the defaults (``user``, ``password``,
        ``database``, ``host``, ``port``, ``ssl_context``, ``timeout``).
        """
        params: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "ssl_context": self.ssl_context(),
            "timeout": 30,
        }
        if "host" not in overrides and self.certificate_host != self.host:
            # The certificate does not name 127.0.0.1, so connect to it and
            # check the certificate against a name it does carry.
            params["sock"] = socket.create_connection((self.host, self.port), 30)
            params["host"] = self.certificate_host
        params.update(overrides)
        return pg8000.native.Connection(**params)

    def connect_superuser(self, **overrides: object) -> pg8000.native.Connection:
        """Open a verified TLS connection as the superuser (for administration)."""
        params: dict[str, object] = {
            "user": self.superuser,
            "password": self.superuser_password,
        }
        params.update(overrides)
        return self.connect(**params)

    def environment(self) -> dict[str, str]:
        """Return the DB_* variables that point the storage code at this server.

        Credentials are not among them: the storage code reads them from a
        Secrets Manager secret whose value is ``secret_string()``.
        """
        return {
            "DB_HOST": "localhost",
            "DB_PORT": str(self.port),
            "DB_NAME": self.database,
            "DB_CA_BUNDLE": str(self.ca_file),
        }

    def secret_string(self) -> str:
        """Return the app user's credentials as an RDS-managed secret's JSON."""
        return json.dumps({"username": self.user, "password": self.password})

    def stop(self, *, keep_log: Path | None = None) -> None:
        """Stop the server and remove its data folder if this module made it.

        With ``keep_log``, the server log is first copied to that file, so it
        outlives the data folder.
        """
        if self._running:
            subprocess.run(
                [*self._run_as, str(self._pg_ctl), "stop", "-D", str(self.data_dir)]
                + ["-m", "fast", "-w"],
                check=False,
                capture_output=True,
            )
            self._running = False
        if keep_log is not None and self.log_file.is_file():
            shutil.copyfile(self.log_file, keep_log)
        if self._owned_root is not None:
            shutil.rmtree(self._owned_root, ignore_errors=True)
            self._owned_root = None

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresStartError(f"{what} failed:\n{result.stdout}\n{result.stderr}")


def _server_root(workdir: Path) -> tuple[Path, list[str], Path | None]:
    """Choose the data root and the command prefix for the server OS user."""
    if os.geteuid() != 0:
        root = workdir / "server"
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        return root, [], None
    owner = pwd.getpwnam(SERVER_OS_USER)
    root = Path(tempfile.mkdtemp(prefix="nature-risk-pg-"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    return root, ["runuser", "-u", SERVER_OS_USER, "--"], root


def _chown_tree(path: Path, run_as: list[str]) -> None:
    if not run_as:
        return
    owner = pwd.getpwnam(SERVER_OS_USER)
    for item in [path, *path.rglob("*")]:
        os.chown(item, owner.pw_uid, owner.pw_gid)


def _write_config(data_dir: Path, root: Path, port: int) -> None:
    settings = {
        "listen_addresses": f"'{HOST}'",
        "port": str(port),
        "unix_socket_directories": f"'{root}'",
        "ssl": "on",
        "ssl_cert_file": f"'{root / 'tls' / 'server.crt'}'",
        "ssl_key_file": f"'{root / 'tls' / 'server.key'}'",
        "ssl_min_protocol_version": "'TLSv1.2'",
        "password_encryption": "'scram-sha-256'",
        # A throw-away server: durability buys nothing and slows every test.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "50",
    }
    lines = [f"{key} = {value}" for key, value in settings.items()]
    with (data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# Local TLS-only server\n" + "\n".join(lines) + "\n")
    (data_dir / "pg_hba.conf").write_text(
        "# TLS only: no 'host', 'hostnossl' or 'local' lines.\n"
        f"hostssl all all {HOST}/32 scram-sha-256\n",
        encoding="utf-8",
    )


def _create_app_role(server: PostgresServer) -> None:
    admin = server.connect_superuser(database="postgres")
    try:
        # CREATE ROLE takes no bind parameters. The names are module constants
        # and the password is random hex, so a quoted literal is safe here.
        admin.run(
            f"CREATE ROLE {server.user} LOGIN PASSWORD "
            f"{pg8000.native.literal(server.password)}"
        )
        admin.run(f"CREATE DATABASE {server.database} OWNER {server.user}")
    finally:
        admin.close()
    app_db = server.connect_superuser()
    try:
        app_db.run(f"ALTER SCHEMA public OWNER TO {server.user}")
    finally:
        app_db.close()


def start_postgres(
    workdir: Path,
    port: int = 0,
    *,
    server_names: tuple[str, ...] = ("localhost",),
    server_addresses: tuple[str, ...] = (HOST,),
) -> PostgresServer:
    """Initialise and start a TLS-only server; ``port=0`` picks a free port.

    The server certificate names ``server_names`` and ``server_addresses``;
    tests pass other names to check that clients reject a host-name mismatch.

    ``workdir`` receives the CA certificate (``ca.pem``).
    The server has a database ``nature_risk`` owned by the login role
    ``nature_risk_app``, and a separate superuser, each with a random password.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    initdb = find_binary("initdb")
    pg_ctl = find_binary("pg_ctl")
    root, run_as, owned_root = _server_root(workdir)
    data_dir = root / "data"
    log_file = root / "server.log"

    ca = create_ca(workdir)
    issue_server_certificate(
        ca, root / "tls", server_names, server_addresses, name="server"
    )
    superuser_password = secrets.token_hex(24)
    password_file = root / "superuser-password"
    password_file.touch(mode=0o600)
    password_file.write_text(superuser_password, encoding="utf-8")
    _chown_tree(root, run_as)

    _run(
        [*run_as, str(initdb), "-D", str(data_dir), "-U", SUPERUSER]
        + ["--auth=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8"]
        + ["--locale=C.UTF-8", "--no-instructions"],
        "initdb",
    )
    password_file.unlink()

    last_error: PostgresStartError | None = None
    for _attempt in range(START_ATTEMPTS if port == 0 else 1):
        chosen_port = port or free_port()
        _write_config(data_dir, root, chosen_port)
        _chown_tree(data_dir, run_as)
        try:
            _run(
                [*run_as, str(pg_ctl), "start", "-D", str(data_dir), "-l"]
                + [str(log_file), "-w", "-t", str(START_TIMEOUT_SECONDS)],
                "pg_ctl start",
            )
        except PostgresStartError as error:
            last_error = error
            continue
        server = PostgresServer(
            host=HOST,
            port=chosen_port,
            ca_file=ca.cert_file,
            database=APP_DATABASE,
            user=APP_USER,
            password=secrets.token_hex(24),
            superuser=SUPERUSER,
            superuser_password=superuser_password,
            data_dir=data_dir,
            log_file=log_file,
            certificate_host=(server_addresses or server_names)[0],
            _pg_ctl=pg_ctl,
            _run_as=run_as,
            _owned_root=owned_root,
        )
        try:
            _create_app_role(server)
        except Exception:
            server.stop()
            raise
        # A caller that exits without stop() must not leave a server running.
        atexit.register(server.stop)
        return server

    if owned_root is not None:
        shutil.rmtree(owned_root, ignore_errors=True)
    raise PostgresStartError(f"the server did not start: {last_error}")
