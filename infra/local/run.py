"""Start the local API: ``python -m infra.local.run [--port N]`` (``make run``).

Every function's real handler runs in this process behind
``infra.local.server``. The ENCORE release (its GICS workbook included) and
the biodiversity data load before anything starts, so a broken release stops
start-up with its file, row and column. Each run has its own state folder
under ``.local/`` with the run's CA certificate, and its own PostgreSQL data
folder (under the system temp directory when run as root, see
``infra.local.postgres``), so two runs on different ports do not clash.
Ctrl+C, SIGINT or SIGTERM stop PostgreSQL and moto and remove both folders.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from types import FrameType

REPO_ROOT = Path(__file__).resolve().parents[2]
# Lambda puts the layer's packages on the path; the local run does the same.
if str(REPO_ROOT / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common"))

from infra.local.backends import start_local_backends  # noqa: E402
from infra.local.cors import CorsConfiguration, load_cors_configuration  # noqa: E402
from infra.local.server import (  # noqa: E402
    DEFAULT_PORT,
    LocalApiServer,
    RouteTable,
    add_function_routes,
)
from infra.local.signin import LocalSignIn  # noqa: E402
from tests.functions import load_function  # noqa: E402

LOCAL_STATE_DIR = REPO_ROOT / ".local"
# The data folders and their defaults next to the checkout, as in the Makefile.
SHARED_DATA_ROOT = REPO_ROOT.parent / "shared"
DATA_FOLDERS = {"ENCORE_KB_DIR": "encore", "BIODIVERSITY_DATA_DIR": "biodiversity"}


class StartupError(RuntimeError):
    """The local run cannot start; the message states what to fix."""


EXAMPLE_PORTFOLIO = REPO_ROOT / "examples" / "portfolio.csv"
TEMPLATE = REPO_ROOT / "template.yaml"


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


def local_cors_configuration(web_client_origin: str | None) -> CorsConfiguration:
    """Read the HTTP API's CORS configuration from template.yaml for this run.

    ``web_client_origin`` replaces the template's ``WebClientOrigin``
    parameter, and without it no origin is allowed.
    """
    parameters = {"WebClientOrigin": web_client_origin} if web_client_origin else {}
    configuration = load_cors_configuration(TEMPLATE, parameters)
    if configuration is None:
        raise StartupError(f"{TEMPLATE.name} has no CorsConfiguration on its HTTP API")
    return configuration


def example_curl(url: str) -> str:
    """Return a curl command that posts the example portfolio for a dashboard."""
    relative = EXAMPLE_PORTFOLIO.relative_to(REPO_ROOT)
    return (
        f"curl -sS -X POST {shlex.quote(url + '/dashboards/natural-capital')}"
        " -H 'Content-Type: text/csv'"
        f" --data-binary @{shlex.quote(str(relative))}"
    )


def set_data_folders(
    environ: MutableMapping[str, str], shared_root: Path = SHARED_DATA_ROOT
) -> None:
    """Default each unset data folder variable to ``shared_root``, as make does.

    Raises ``StartupError`` naming every variable that is still unset.
    """
    for variable, folder in DATA_FOLDERS.items():
        if not environ.get(variable) and (shared_root / folder).is_dir():
            environ[variable] = str((shared_root / folder).resolve())
    missing = [variable for variable in DATA_FOLDERS if not environ.get(variable)]
    if missing:
        raise StartupError(
            f"{' and '.join(missing)} not set and no default folder under "
            f"{shared_root}: point each at its data folder (see README)"
        )


def load_reference_data() -> None:
    """Load the ENCORE release and the biodiversity data, as the functions will.

    The GICS workbook, which the functions read on the first GICS code, is
    read now too, so that a broken one stops the run. Raises ``StartupError``
    with the loader's message, which names the file, row and column of the
    first problem in a release.
    """
    from nature_risk.biodiversity import LayerPackError, get_biodiversity
    from nature_risk.config import ConfigurationError
    from nature_risk.encore_files import KnowledgeBaseError
    from nature_risk.knowledge_base import get_knowledge_base

    try:
        get_knowledge_base().crosswalks.gics()
    except (ConfigurationError, KnowledgeBaseError) as error:
        raise StartupError(f"invalid ENCORE release (ENCORE_KB_DIR): {error}") from None
    try:
        get_biodiversity()
    except (ConfigurationError, LayerPackError, OSError, ValueError) as error:
        raise StartupError(
            "invalid biodiversity data (BIODIVERSITY_DATA_DIR or "
            f"BIODIVERSITY_PACKS_DIR): {error}"
        ) from None


def _stop(signum: int, frame: FrameType | None) -> None:
    # Raised in the main thread, so serve_forever ends through the cleanup.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the API locally on 127.0.0.1.")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--web-client-origin",
        metavar="ORIGIN",
        help=(
            "origin that CORS allows, in place of the template's WebClientOrigin"
            " parameter, e.g. http://localhost:5173 (default: none)"
        ),
    )
    arguments = parser.parse_args(argv)

    try:
        set_data_folders(os.environ)
        load_reference_data()
        cors = local_cors_configuration(arguments.web_client_origin)
    except StartupError as error:
        sys.exit(f"Local API not started: {error}")
    try:
        # Bound now, so a port in use stops the run before PostgreSQL starts.
        # Nothing is served until the routes are in place.
        server = LocalApiServer(RouteTable(), port=arguments.port, cors=cors)
    except OSError as error:
        sys.exit(
            f"Local API not started: port {arguments.port} on 127.0.0.1 is not "
            f"available ({error.strerror}); choose another with --port N "
            "(make run PORT=N)"
        )

    LOCAL_STATE_DIR.mkdir(exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="run-", dir=LOCAL_STATE_DIR))
    # The state folder goes on exit, but the PostgreSQL log is kept beside it.
    postgres_log = LOCAL_STATE_DIR / f"{state_dir.name}-postgres.log"
    backends = None
    # A signal while PostgreSQL starts would leave a server that nothing
    # stops, so it is held until the backends are up, then acted on.
    held_signals: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: held_signals.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: held_signals.append(signum))
    try:
        backends = start_local_backends(state_dir)
        # SIGTERM (kill, a process manager) exits through the cleanup below,
        # as Ctrl+C does. A shell starts a background job with SIGINT
        # ignored, so SIGINT gets Python's handler back explicitly.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if held_signals:
            raise SystemExit(0)
        server.routes = build_routes()
        add_portfolio_routes(server.routes, LocalSignIn())
        print(f"Local API on {server.url}")
        print(f"API documentation: {server.url}/swagger")
        allowed = ", ".join(cors.allow_origins) or "none (set --web-client-origin)"
        print(f"CORS origins allowed: {allowed}")
        print("Try (from the repository root):")
        print(f"  {example_curl(server.url)}")
        print("Sign in locally, then use the token on /portfolios:")
        print(
            f'  curl -sS -X POST {server.url}/local/sign-in -d \'{{"user": "alice"}}\''
        )
        postgres = backends.postgres
        print(f"PostgreSQL (TLS only) on {postgres.host}:{postgres.port}")
        print(f"PostgreSQL log: {postgres.log_file} (kept as {postgres_log})")
        print(f"State folder (removed on exit): {state_dir}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        # A second signal would raise inside the cleanup and leave the state
        # folder behind, or PostgreSQL running. Killing the process group of
        # `make run` sends one, because make also sends SIGTERM to its recipe.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        if backends is not None:
            backends.stop(keep_postgres_log=postgres_log)
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
