"""Deferred Powertools packages: the names they give, and what a cold start loads.

Each check runs in a fresh interpreter, because this test process has long
imported both packages in full.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nature_risk.deferred_imports import DEFERRED_PACKAGES, defer_package_init

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO_ROOT / "layers" / "common"
# Loaded only through the package __init__ files that the functions skip.
LEFT_OUT = (
    "asyncio",
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.utilities.data_classes.s3_event",
)


def run_python(code: str, *paths: Path, env: dict[str, str] | None = None) -> object:
    """Run ``code`` in a fresh interpreter with ``paths`` first on sys.path.

    The code prints one JSON value, which is returned.
    """
    prefix = f"import sys\nsys.path[:0] = {[str(path) for path in paths]!r}\n"
    result = subprocess.run(
        [sys.executable, "-c", prefix + code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_listed_names_match_package_exports():
    # Without nature_risk, both packages import in full.
    code = (
        "import importlib, json\n"
        f"listed = {json.dumps({k: dict(v) for k, v in DEFERRED_PACKAGES.items()})}\n"
        "wrong = []\n"
        "for package, names in listed.items():\n"
        "    module = importlib.import_module(package)\n"
        "    for name, submodule in names.items():\n"
        "        defining = importlib.import_module(f'{package}.{submodule}')\n"
        "        if getattr(module, name) is not getattr(defining, name):\n"
        "            wrong.append(f'{package}.{name}')\n"
        "print(json.dumps(wrong))\n"
    )
    assert run_python(code) == []


def loaded_at_cold_start(
    function: str, names: tuple[str, ...], encore_dir: Path, biodiversity_dir: Path
) -> object:
    """Import a function's app in a fresh interpreter and list ``names`` loaded."""
    code = (
        "import json\n"
        "import app\n"
        f"print(json.dumps([name for name in {names!r} if name in sys.modules]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "ENCORE_KB_DIR": str(encore_dir),
        "BIODIVERSITY_DATA_DIR": str(biodiversity_dir),
    }
    return run_python(code, LAYER_DIR, REPO_ROOT / "functions" / function, env=env)


@pytest.mark.parametrize("function", ["dashboard", "portfolio"])
def test_cold_start_skips_unused_powertools(function, encore_dir, biodiversity_dir):
    loaded = loaded_at_cold_start(function, LEFT_OUT, encore_dir, biodiversity_dir)
    assert loaded == []


def test_dashboard_cold_start_skips_email_parser(encore_dir, biodiversity_dir):
    # Only requests with a body parse MIME parameters.
    names = ("email.message", "email.parser", "email.utils")
    loaded = loaded_at_cold_start("dashboard", names, encore_dir, biodiversity_dir)
    assert loaded == []


def test_unlisted_name_completes_package():
    code = (
        "import json\n"
        "import nature_risk\n"
        "from aws_lambda_powertools.event_handler.api_gateway import Response\n"
        "import aws_lambda_powertools.event_handler as package\n"
        "from nature_risk.deferred_imports import is_deferred\n"
        "before = is_deferred(package)\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver\n"
        "missing = [name for name in package.__all__ if not hasattr(package, name)]\n"
        "print(json.dumps([before, is_deferred(package), missing,"
        " package.Response is Response, 'asyncio' in sys.modules]))\n"
    )
    assert run_python(code, LAYER_DIR) == [True, False, [], True, True]


def test_listed_name_keeps_package_deferred():
    code = (
        "import json\n"
        "import nature_risk\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "from aws_lambda_powertools.event_handler import content_types\n"
        "from aws_lambda_powertools.utilities.data_classes import ALBEvent\n"
        "import aws_lambda_powertools.event_handler as package\n"
        "from nature_risk.deferred_imports import is_deferred\n"
        "print(json.dumps([is_deferred(package), content_types.__name__,"
        " APIGatewayHttpResolver.__module__, ALBEvent.__module__,"
        " 'asyncio' in sys.modules]))\n"
    )
    assert run_python(code, LAYER_DIR) == [
        True,
        "aws_lambda_powertools.event_handler.content_types",
        "aws_lambda_powertools.event_handler.api_gateway",
        "aws_lambda_powertools.utilities.data_classes.alb_event",
        False,
    ]


def test_defer_skips_imported_package():
    # This process imported Powertools in full long ago.
    assert not defer_package_init("aws_lambda_powertools.event_handler", {})
    assert not defer_package_init("nature_risk.no_such_package", {})
