"""The saved-portfolio routes end to end over HTTP, as ``make run`` serves them.

The local backends (TLS-only PostgreSQL, moto's Secrets Manager) and the local
API server start on 127.0.0.1; requests carry tokens from the local sign-in.
The last tests start ``python -m infra.local.run`` itself, to check start-up
checks, two runs side by side and stopping on SIGTERM and SIGINT.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.backends import start_local_backends
from infra.local.run import (
    LOCAL_STATE_DIR,
    REPO_ROOT,
    StartupError,
    add_portfolio_routes,
    set_data_folders,
)
from infra.local.server import AuthorizationFailed, LocalApiServer, RouteTable
from infra.local.signin import LocalSignIn

PORTFOLIO = {
    "name": "Local book",
    "currency": "EUR",
    "holdings": [{"code": "0111", "amount": 10}, {"code": "C_10_106", "amount": 5}],
}


@pytest.fixture(scope="module")
def local_api(
    tmp_path_factory: pytest.TempPathFactory, encore_dir: Path
) -> Iterator[tuple[str, LocalSignIn]]:
    saved = dict(os.environ)
    os.environ["ENCORE_KB_DIR"] = str(encore_dir)
    backends = start_local_backends(tmp_path_factory.mktemp("local"))
    sign_in = LocalSignIn()
    routes = RouteTable()
    add_portfolio_routes(routes, sign_in)
    server = LocalApiServer(routes, port=0, quiet=True)
    server.start()
    try:
        yield server.url, sign_in
    finally:
        server.stop()
        backends.stop()
        os.environ.clear()
        os.environ.update(saved)


def request(
    url: str,
    method: str,
    *,
    token: str | None = None,
    payload: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    prepared = urllib.request.Request(url, data, all_headers, method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:  # noqa: S310
            body = response.read()
            return response.status, response.headers, json.loads(body or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, error.headers, json.loads(body or b"null")


def sign_in(base: str, user: str) -> str:
    status, _, body = request(f"{base}/local/sign-in", "POST", payload={"user": user})
    assert status == 200
    return body["access_token"]


def test_local_round_trip(local_api) -> None:
    base, _ = local_api
    alice = sign_in(base, "alice")
    bob = sign_in(base, "bob")

    status, headers, created = request(
        f"{base}/portfolios", "POST", token=alice, payload=PORTFOLIO
    )
    assert status == 201, created
    assert headers["ETag"] == '"1"'
    item = f"{base}/portfolios/{created['id']}"

    assert request(item, "GET", token=alice)[0] == 200
    assert request(item, "GET", token=bob)[0] == 404
    status, _, result = request(f"{item}/dashboard", "GET", token=alice)
    assert status == 200
    assert result["dashboard"]["totals"]["holdings"] == 2

    replaced = {**PORTFOLIO, "name": "Renamed"}
    status, headers, _ = request(
        item, "PUT", token=alice, payload=replaced, headers={"If-Match": '"1"'}
    )
    assert status == 200
    assert headers["ETag"] == '"2"'

    status, _, exported = request(f"{base}/account/data", "GET", token=alice)
    assert status == 200
    assert [p["name"] for p in exported["portfolios"]] == ["Renamed"]
    assert request(item, "DELETE", token=alice)[0] == 204
    assert request(item, "GET", token=alice)[0] == 404


def test_local_routes_need_token(local_api) -> None:
    base, sign_in_provider = local_api
    other_key = LocalSignIn().issue("alice")
    expired = sign_in_provider.issue("alice", now=0)
    header, claims, signature = sign_in_provider.issue("alice").split(".")
    forged_claims = (
        base64.urlsafe_b64encode(
            json.dumps(
                {**json.loads(base64.urlsafe_b64decode(claims + "==")), "sub": "bob"}
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    for token in (
        None,
        "",
        "not-a-jwt",
        other_key,
        expired,
        f"{header}.{forged_claims}.{signature}",
    ):
        status, _, body = request(f"{base}/portfolios", "GET", token=token)
        assert status == 401, token
        assert body == {"message": "Unauthorized"}


def test_sign_in_checks_claims() -> None:
    provider = LocalSignIn()
    wrong_audience = LocalSignIn(audience="another-client")
    wrong_audience._private_key = provider._private_key
    wrong_audience.key_id = provider.key_id
    token = wrong_audience.issue("alice")
    with pytest.raises(AuthorizationFailed, match="audience"):
        provider.verify(token)
    future = provider.issue("alice", now=4_000_000_000)
    with pytest.raises(AuthorizationFailed, match="not yet valid"):
        provider.verify(future)
    claims = provider.authorize({"authorization": f"Bearer {provider.issue('alice')}"})
    assert claims["sub"] == "alice"
    assert isinstance(claims["exp"], str)


def test_sign_in_rejects_alg_none() -> None:
    provider = LocalSignIn()
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "none", "kid": provider.key_id}).encode()
    ).rstrip(b"=")
    claims = provider.issue("alice").split(".")[1]
    with pytest.raises(AuthorizationFailed):
        provider.verify(f"{header.decode()}.{claims}.")


def test_sign_in_nested_body_rejected() -> None:
    depth = 10_008
    event = {"body": '{"user": ' + "[" * depth + "]" * depth + "}"}

    response = LocalSignIn().sign_in_handler(event, None)

    assert response["statusCode"] == 400


READY_PREFIX = "State folder (removed on exit): "
START_TIMEOUT_SECONDS = 120


class LocalRun:
    """``python -m infra.local.run --port 0`` in a child process."""

    def __init__(self, environment: dict[str, str], *, ignore_sigint: bool) -> None:
        def ignore() -> None:
            # A shell starts background jobs with SIGINT ignored.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.run", "--port", "0"],
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=ignore if ignore_sigint else None,  # noqa: PLW1509
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self.postgres_port = self.state_dir = None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self.state_dir is None:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if line.startswith("Local API on "):
                self.url = line.removeprefix("Local API on ").strip()
            elif line.startswith("PostgreSQL (TLS only) on "):
                self.postgres_port = int(line.rsplit(":", 1)[1])
            elif line.startswith(READY_PREFIX):
                self.state_dir = Path(line.removeprefix(READY_PREFIX).strip())

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def port_accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def run_environment(encore_dir: Path, biodiversity_dir: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "AWS_"))
    }
    environment["ENCORE_KB_DIR"] = str(encore_dir)
    environment["BIODIVERSITY_DATA_DIR"] = str(biodiversity_dir)
    return environment


def test_two_runs_then_signals_stop(run_environment) -> None:
    first = LocalRun(run_environment, ignore_sigint=True)
    try:
        second = LocalRun(run_environment, ignore_sigint=False)
        try:
            assert first.state_dir != second.state_dir
            # Starting the second run must leave the first one's database usable.
            token = sign_in(first.url, "alice")
            assert request(f"{first.url}/portfolios", "GET", token=token)[0] == 200

            assert second.stop(signal.SIGTERM) == 0
            assert not port_accepts(second.postgres_port)
            assert not second.state_dir.exists()
            kept_log = second.state_dir.with_name(
                f"{second.state_dir.name}-postgres.log"
            )
            assert "database system is shut down" in kept_log.read_text()
            kept_log.unlink()
            assert request(f"{first.url}/portfolios", "GET", token=token)[0] == 200
        finally:
            second.kill()

        # SIGINT stops a run started with SIGINT ignored (a background job).
        assert first.stop(signal.SIGINT) == 0
        assert not port_accepts(first.postgres_port)
        assert not first.state_dir.exists()
        first.state_dir.with_name(f"{first.state_dir.name}-postgres.log").unlink()
    finally:
        first.kill()


def test_second_sigterm_keeps_cleanup(run_environment) -> None:
    # make forwards SIGTERM to its recipe, so killing the process group of
    # `make run` signals the run twice, the second time while it cleans up.
    run = LocalRun(run_environment, ignore_sigint=False)
    try:
        run.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        assert run.stop(signal.SIGTERM) == 0
        assert not port_accepts(run.postgres_port)
        assert not run.state_dir.exists()
        kept_log = run.state_dir.with_name(f"{run.state_dir.name}-postgres.log")
        assert "database system is shut down" in kept_log.read_text()
        kept_log.unlink()
    finally:
        run.kill()


def test_broken_release_stops_start(run_environment, tmp_path: Path) -> None:
    run_environment["ENCORE_KB_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.run", "--port", "0"],
        cwd=REPO_ROOT,
        env=run_environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "ENCORE_KB_DIR" in result.stderr
    assert "ENCORE files/" in result.stderr
    assert "Local API on" not in result.stdout


def test_data_folders_default_to_shared(tmp_path: Path) -> None:
    (tmp_path / "encore").mkdir()
    (tmp_path / "biodiversity").mkdir()
    environment: dict[str, str] = {}

    set_data_folders(environment, tmp_path)

    assert environment["ENCORE_KB_DIR"] == str(tmp_path / "encore")
    assert environment["BIODIVERSITY_DATA_DIR"] == str(tmp_path / "biodiversity")


def test_data_folders_set_are_kept(tmp_path: Path) -> None:
    (tmp_path / "encore").mkdir()
    (tmp_path / "biodiversity").mkdir()
    environment = {"ENCORE_KB_DIR": "/chosen/encore"}

    set_data_folders(environment, tmp_path)

    assert environment["ENCORE_KB_DIR"] == "/chosen/encore"


def test_data_folders_missing_named(tmp_path: Path) -> None:
    with pytest.raises(StartupError) as raised:
        set_data_folders({}, tmp_path)

    assert "ENCORE_KB_DIR" in str(raised.value)
    assert "BIODIVERSITY_DATA_DIR" in str(raised.value)


def postgres_processes_under(folder: Path) -> list[int]:
    """Return the ids of processes whose command line names ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(folder).encode() in command:
            found.append(int(entry.name))
    return found


def test_sigterm_during_start_cleans_up(run_environment) -> None:
    # A temp root of its own shows whether the run's PostgreSQL data folder
    # (made there when running as root) and server are gone afterwards.
    temp_root = Path(tempfile.mkdtemp(prefix="local-run-test-"))
    temp_root.chmod(0o755)
    before = set(LOCAL_STATE_DIR.glob("run-*"))
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.run", "--port", "0"],
        cwd=REPO_ROOT,
        env={**run_environment, "TMPDIR": str(temp_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        created: set[Path] = set()
        while not created and time.monotonic() < deadline:
            created = set(LOCAL_STATE_DIR.glob("run-*")) - before
            time.sleep(0.01)
        assert created, "the run made no state folder"
        # The state folder exists from just before PostgreSQL starts.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert process.returncode == 0
    assert "Local API on" not in output
    for folder in created:
        assert not folder.exists()
    assert postgres_processes_under(temp_root) == []
    assert list(temp_root.iterdir()) == []
    temp_root.rmdir()
