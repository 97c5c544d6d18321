"""Start the local API: ``python -m infra.local.run [--port N]`` (``make run``).

Every function's real handler runs in this process behind
``infra.local.server``. Stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Lambda puts the layer's packages on the path; the local run does the same.
if str(REPO_ROOT / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))

from infra.local.backends import start_local_backends  # noqa: E402
from infra.local.server import (  # noqa: E402
    DEFAULT_PORT,
    LocalApiServer,
    RouteTable,
    add_function_routes,
)
from infra.local.signin import LocalSignIn  # noqa: E402
from tests.functions import load_function  # noqa: E402

LOCAL_STATE_DIR = REPO_ROOT / ".local"

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


def add_portfolio_routes(routes: RouteTable, sign_in: LocalSignIn) -> None:
    """Wire the signed-in portfolio routes behind the local JWT check.

    Load this after the database variables are set: the function reads its
    limits when imported.
    """
    portfolio = load_function("portfolio")
    add_function_routes(
        routes,
        portfolio.route_keys(),
        portfolio.lambda_handler,
        function_name="portfolio",
        authorizer=sign_in.authorize,
    )
    routes.add(
        "POST /local/sign-in", sign_in.sign_in_handler, function_name="local-sign-in"
    )


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

    # SIGTERM (kill, a process manager) exits through the cleanup below, as
    # Ctrl+C does, so the local PostgreSQL and moto stop with the server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    LOCAL_STATE_DIR.mkdir(exist_ok=True)
    backends = start_local_backends(LOCAL_STATE_DIR)
    routes = build_routes()
    add_portfolio_routes(routes, LocalSignIn())
    server = LocalApiServer(routes, port=arguments.port)
    print(f"Local API on {server.url}")
    print(f"API documentation: {server.url}/swagger")
    print("Try (from the repository root):")
    print(f"  {example_curl(server.url)}")
    print("Sign in locally, then use the token on /portfolios:")
    print(f'  curl -sS -X POST {server.url}/local/sign-in -d \'{{"user": "alice"}}\'')
    print(f"PostgreSQL (TLS only) on {backends.postgres.host}:{backends.postgres.port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()
        backends.stop()


if __name__ == "__main__":
    main()
