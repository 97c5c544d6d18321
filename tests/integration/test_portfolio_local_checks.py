"""The local runtime: sign-in names, one event per function, the kept database log."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.local.postgres import start_postgres
from infra.local.server import LocalApiServer, RouteTable
from infra.local.signin import MAX_USER_LENGTH, LocalSignIn
from tests.events import http_event, lambda_context


def sign_in_response(body: bytes) -> dict[str, Any]:
    event = http_event(
        "POST",
        "/local/sign-in",
        headers={"content-type": "application/json"},
        body=body,
    )
    return LocalSignIn().sign_in_handler(event, lambda_context("sign-in"))


@pytest.mark.parametrize(
    "user",
    [
        "sur\ud800x",
        "nul\u0000x",
        "tab\tx",
        "c1\u0085x",
        "",
        "x" * (MAX_USER_LENGTH + 1),
    ],
    ids=["lone-surrogate", "nul", "tab", "c1-control", "empty", "too-long"],
)
def test_sign_in_rejects_unusable_user(user: str) -> None:
    response = sign_in_response(json.dumps({"user": user}).encode("ascii"))
    assert response["statusCode"] == 400
    message = json.loads(response["body"])["error"]["message"]
    assert "Content-Type: application/json" in message
    assert "access_token" not in response["body"]


def test_sign_in_accepts_plain_user() -> None:
    response = sign_in_response(json.dumps({"user": "Zoë O'Brien 🌳"}).encode())
    assert response["statusCode"] == 200
    token = json.loads(response["body"])["access_token"]
    assert token.count(".") == 2


def test_server_runs_one_event_per_function() -> None:
    active = {"portfolio": 0, "dashboard": 0}
    peak = {"portfolio": 0, "dashboard": 0}
    guard = threading.Lock()

    def handler_for(function_name: str):
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with guard:
                active[function_name] += 1
                peak[function_name] = max(peak[function_name], active[function_name])
            time.sleep(0.05)
            with guard:
                active[function_name] -= 1
            return {"statusCode": 200, "body": "{}"}

        return handler

    routes = RouteTable()
    routes.add("GET /a", handler_for("portfolio"), function_name="portfolio")
    routes.add("GET /b", handler_for("portfolio"), function_name="portfolio")
    routes.add("GET /c", handler_for("dashboard"), function_name="dashboard")
    server = LocalApiServer(routes, port=0, quiet=True)
    server.start()
    statuses: list[int] = []

    def fetch(path: str) -> None:
        with urllib.request.urlopen(server.url + path, timeout=30) as response:  # noqa: S310
            statuses.append(response.status)

    try:
        threads = [
            threading.Thread(target=fetch, args=(path,))
            for path in ["/a", "/b", "/c"] * 4
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    assert statuses == [200] * 12
    assert peak["portfolio"] == 1
    assert peak["dashboard"] == 1


def test_postgres_log_kept_after_stop(tmp_path: Path) -> None:
    if not shutil.which("initdb") and not any(
        Path("/usr/lib/postgresql").glob("*/bin/initdb")
    ):
        pytest.skip("PostgreSQL server binaries are not installed (make system-deps)")
    server = start_postgres(tmp_path / "postgres")
    live_log = server.log_file
    kept = tmp_path / "kept-postgres.log"
    server.stop(keep_log=kept)
    assert kept.is_file()
    assert "database system is ready to accept connections" in kept.read_text()
    assert "database system is shut down" in kept.read_text()
    assert not live_log.exists() or live_log.is_relative_to(tmp_path)
