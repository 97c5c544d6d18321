"""The suite's sockets stay on the loopback interface (see tests/conftest.py)."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NonLocalNetwork


def test_guard_rejects_lookup_of_other_host() -> None:
    with pytest.raises(NonLocalNetwork):
        socket.getaddrinfo("s3.eu-west-1.amazonaws.com", 443)


def test_guard_rejects_connection_to_other_host() -> None:
    with socket.socket() as sock, pytest.raises(NonLocalNetwork):
        sock.connect(("192.0.2.1", 443))


def test_guard_rejects_listening_on_all_interfaces() -> None:
    with socket.socket() as sock, pytest.raises(NonLocalNetwork):
        sock.bind(("0.0.0.0", 0))


def test_guard_allows_loopback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))

        assert sock.getsockname()[0] == "127.0.0.1"
