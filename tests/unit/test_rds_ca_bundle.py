"""The RDS CA bundle check: pinned digest and CA certificates only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from infra.fetch_rds_ca_bundle import BundleError, check_bundle
from infra.local.tls import create_ca, issue_server_certificate


def test_bundle_with_pinned_digest_accepted(tmp_path: Path) -> None:
    content = create_ca(tmp_path).cert_file.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    assert check_bundle(content, digest) == digest


def test_bundle_digest_mismatch_rejected(tmp_path: Path) -> None:
    content = create_ca(tmp_path).cert_file.read_bytes()
    with pytest.raises(BundleError, match="expected"):
        check_bundle(content, "0" * 64)


def test_bundle_without_pin_rejected(tmp_path: Path) -> None:
    content = create_ca(tmp_path).cert_file.read_bytes()
    with pytest.raises(BundleError, match="no SHA-256 is pinned"):
        check_bundle(content, "")


def test_bundle_with_leaf_certificate_rejected(tmp_path: Path) -> None:
    ca = create_ca(tmp_path)
    leaf = issue_server_certificate(ca, tmp_path / "leaf")
    content = ca.cert_file.read_bytes() + leaf.cert_file.read_bytes()
    with pytest.raises(BundleError, match="not a CA"):
        check_bundle(content, hashlib.sha256(content).hexdigest())
