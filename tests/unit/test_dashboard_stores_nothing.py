"""The dashboard function keeps nothing: no file, no AWS call, no database.

Every dashboard canary case runs under three recorders. A ``sys.addaudithook``
hook records each file opened for writing, each directory or file created,
renamed or removed, and each socket connection. A wrapper around botocore's
``BaseClient._make_api_call`` records AWS calls, and wrappers around
``pg8000``'s connect functions record database connections. The audit hook
records writes to any path, ``/tmp`` included. Each case also runs with
``TMPDIR`` pointing at an empty private folder, which must still be empty
afterwards. The real ``/tmp`` is shared with other processes, so listing it
would not tell their files from ours.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import botocore.client
import pg8000
import pg8000.native
import pytest

from tests.canary.cases import API_CASES
from tests.canary.markers import Markers
from tests.canary.runner import build_event, invoke
from tests.functions import load_function

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
FILE_EVENTS = {
    "os.mkdir",
    "os.rename",
    "os.remove",
    "os.rmdir",
    "os.symlink",
    "os.link",
    "os.truncate",
    "shutil.copyfile",
    "shutil.move",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "sqlite3.connect",
}

_recording: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if not _recording:
        return
    record = _recording[-1]
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writes and not str(path).endswith(".pyc"):
            record.append(f"open for writing: {path}")
    elif event in FILE_EVENTS:
        if not any(str(arg).endswith(".pyc") for arg in args):
            record.append(f"{event}: {args!r}")
    elif event == "socket.connect":
        record.append(f"socket.connect: {args[1]!r}")


sys.addaudithook(_audit)


def files_under(root: Path) -> list[str]:
    return sorted(str(path) for path in root.rglob("*"))


@pytest.fixture
def recorders(monkeypatch):
    aws_calls: list[str] = []
    database_connections: list[str] = []
    original_api_call = botocore.client.BaseClient._make_api_call

    def record_api_call(self, operation_name, api_params):
        aws_calls.append(operation_name)
        return original_api_call(self, operation_name, api_params)

    def record_connect(*args, **kwargs):
        database_connections.append("pg8000 connection")
        raise AssertionError("the dashboard function opened a database connection")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record_api_call)
    monkeypatch.setattr(pg8000, "connect", record_connect)
    monkeypatch.setattr(pg8000.native, "Connection", record_connect)
    return aws_calls, database_connections


@pytest.fixture(autouse=True)
def data_folders(monkeypatch, encore_dir, biodiversity_dir) -> None:
    monkeypatch.setenv("ENCORE_KB_DIR", str(encore_dir))
    monkeypatch.setenv("BIODIVERSITY_DATA_DIR", str(biodiversity_dir))


DASHBOARD_CASES = [pytest.param(case, id=case.id) for case in API_CASES["dashboard"]]


def test_recorder_sees_a_file_write():
    _recording.append([])
    try:
        with tempfile.NamedTemporaryFile("w"):
            pass
    finally:
        seen = _recording.pop()
    assert seen


@pytest.mark.parametrize("case", DASHBOARD_CASES)
def test_dashboard_route_stores_nothing(case, recorders, monkeypatch, capfd, tmp_path):
    aws_calls, database_connections = recorders
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    module = load_function("dashboard")
    markers = Markers()
    event = build_event(case, markers)
    if case.patch is not None:
        case.patch(monkeypatch, markers, module)

    _recording.append([])
    try:
        outcome = invoke(module, event, "dashboard")
    finally:
        file_and_socket_events = _recording.pop()
    capfd.readouterr()

    assert outcome.error is None
    assert outcome.response["statusCode"] in case.statuses
    assert file_and_socket_events == []
    assert aws_calls == []
    assert database_connections == []
    assert files_under(private_tmp) == []
