"""Start the local API: ``python -m infra.local.run [--port N]`` (``make run``).

Every function's real handler runs in this process behind
``infra.local.server``. Stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Lambda puts the layer's packages on the path; the local run does the same.
if str(REPO_ROOT / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))

from infra.local.server import (  # noqa: E402
    DEFAULT_PORT,
    LocalApiServer,
    RouteTable,
    add_function_routes,
)
from tests.functions import load_function  # noqa: E402

EXAMPLE_PORTFOLIO = REPO_ROOT / "examples" / "portfolio.csv"


def build_routes() -> RouteTable:
    """Wire every function's route keys to its handler."""
    routes = RouteTable()
    dashboard = load_function("dashboard")
    add_function_routes(
        routes,
        dashboard.route_keys(),
        dashboard.lambda_handler,
        function_name="dashboard",
    )
    return routes


def example_curl(url: str) -> str:
    """Return a curl command that posts the example portfolio for a dashboard."""
    relative = EXAMPLE_PORTFOLIO.relative_to(REPO_ROOT)
    return (
        f"curl -sS -X POST {shlex.quote(url + '/dashboards/natural-capital')}"
        " -H 'Content-Type: text/csv'"
        f" --data-binary @{shlex.quote(str(relative))}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the API locally on 127.0.0.1.")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    arguments = parser.parse_args(argv)

    server = LocalApiServer(build_routes(), port=arguments.port)
    print(f"Local API on {server.url}")
    print(f"API documentation: {server.url}/swagger")
    print("Try (from the repository root):")
    print(f"  {example_curl(server.url)}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
