"""Fixtures shared by the whole suite: where the data releases are.

The suite also keeps every socket it opens on the loopback interface: a
connection, a name lookup or a listening address elsewhere raises
``NonLocalNetwork``, so a test that would reach another host fails instead.
Subprocesses are not covered, and each server they start is bound to
127.0.0.1 by its own settings.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


class NonLocalNetwork(RuntimeError):
    """A test tried to use the network beyond 127.0.0.1."""


def _is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or not host:
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check(family: int, address: Any, action: str) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise NonLocalNetwork(f"a test tried to {action} {host!r}")


def _guard_sockets() -> None:
    connect, connect_ex, bind = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.bind,
    )
    getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _check(self.family, address, "connect to")
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _check(self.family, address, "connect to")
        return connect_ex(self, address)

    def guarded_bind(self: socket.socket, address: Any) -> None:
        _check(self.family, address, "listen on")
        return bind(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_local(host):
            raise NonLocalNetwork(f"a test tried to look up {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.socket.bind = guarded_bind  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo


def pytest_configure(config: pytest.Config) -> None:
    _guard_sockets()


def _data_dir(variable: str, sibling: str) -> Path:
    configured = os.environ.get(variable)
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / sibling
    if not path.is_dir():
        pytest.exit(
            f"{variable} does not name a folder and {path} does not exist", returncode=2
        )
    return path


@pytest.fixture(scope="session")
def encore_dir() -> Path:
    """The ENCORE release folder the suite reads (the newest layout)."""
    return _data_dir("ENCORE_KB_DIR", "encore")


@pytest.fixture(scope="session")
def encore_sept_2025_dir(encore_dir: Path) -> Path:
    """The September 2025 release, kept inside the same download folder."""
    return encore_dir / "Updated ENCORE knowledge base September 2025"


@pytest.fixture(scope="session")
def biodiversity_dir() -> Path:
    """The open biodiversity data folder."""
    return _data_dir("BIODIVERSITY_DATA_DIR", "biodiversity")
