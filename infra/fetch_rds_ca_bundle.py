"""Download the Amazon RDS CA bundle into the layer and check its SHA-256.

The portfolio function verifies the database certificate against this bundle
(``DB_CA_BUNDLE`` defaults to the layer copy). ``make build`` runs this script.
The download must match ``PINNED_SHA256``: a changed bundle stops the build
until someone reviews it and pins the new digest.

Usage: ``python -m infra.fetch_rds_ca_bundle [--output PATH]``
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.request
from pathlib import Path

from cryptography import x509

BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "layers"
    / "common"
    / "nature_risk"
    / "certs"
    / "rds-global-bundle.pem"
)
# NOTE: this digest of the 108-certificate global bundle comes from a public
# third-party record; the bundle could not be downloaded where this script was
# written. A mismatch stops the build, so confirm it on the first real build.
PINNED_SHA256 = "e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3"
MAX_BUNDLE_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 30


class BundleError(RuntimeError):
    """The downloaded bundle is not the expected, well-formed CA bundle."""


def download(url: str = BUNDLE_URL) -> bytes:
    """Fetch the bundle over HTTPS with Python's default certificate checks."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https URL
        content = response.read(MAX_BUNDLE_BYTES + 1)
    if len(content) > MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    return content


def check_bundle(content: bytes, pinned_sha256: str = PINNED_SHA256) -> str:
    """Check the digest and that every certificate is a CA; return the digest."""
    digest = hashlib.sha256(content).hexdigest()
    if not pinned_sha256:
        raise BundleError(
            f"no SHA-256 is pinned; the downloaded bundle has {digest}. Verify it "
            "independently and set PINNED_SHA256 in infra/fetch_rds_ca_bundle.py"
        )
    if digest != pinned_sha256.lower():
        raise BundleError(
            f"the bundle's SHA-256 is {digest}, expected {pinned_sha256}: "
            "review the new bundle before pinning its digest"
        )
    certificates = x509.load_pem_x509_certificates(content)
    for certificate in certificates:
        constraints = certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        )
        if not constraints.value.ca:
            raise BundleError("the bundle contains a certificate that is not a CA")
    return digest


def main(argv: list[str] | None = None) -> int:
    """Download, check and write the bundle; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the PEM bundle (default: the layer's certs folder)",
    )
    args = parser.parse_args(argv)
    try:
        content = download()
        digest = check_bundle(content)
    except (BundleError, OSError, ValueError) as error:
        sys.stderr.write(f"RDS CA bundle check failed: {error}\n")
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(content)
    sys.stdout.write(f"Wrote {args.output} (SHA-256 {digest})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
