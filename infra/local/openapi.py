"""Print or write the dashboard API's OpenAPI document (``make openapi``).

``python -m infra.local.openapi --write`` stores it as ``docs/openapi.json``;
without ``--write`` it goes to standard output. The document is generated
from the dashboard function's routes, and a unit test fails when the stored
copy differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))

from tests.functions import load_function  # noqa: E402

DOCUMENT_PATH = REPO_ROOT / "docs" / "openapi.json"


def generate() -> str:
    """Generate the document from the dashboard function's resolver.

    Importing the function loads the ENCORE release, so ENCORE_KB_DIR must
    name a valid one (``make openapi`` sets it).
    """
    dashboard = load_function("dashboard")
    openapi = sys.modules["dashboard_openapi"]
    return openapi.openapi_json(dashboard.app)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"write {DOCUMENT_PATH.relative_to(REPO_ROOT)}",
    )
    arguments = parser.parse_args(argv)
    document = generate()
    if arguments.write:
        DOCUMENT_PATH.write_text(document, encoding="utf-8")
        print(f"Wrote {DOCUMENT_PATH.relative_to(REPO_ROOT)}")
    else:
        sys.stdout.write(document)


if __name__ == "__main__":
    main()
