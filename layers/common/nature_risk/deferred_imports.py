"""Leave out the parts of Powertools that an HTTP API function never uses.

Two Powertools packages import far more in their ``__init__`` than a function
uses. ``aws_lambda_powertools.event_handler`` imports every resolver, the
AppSync ones with asyncio and ssl among them, and
``aws_lambda_powertools.utilities.data_classes`` imports the event classes of
about thirty event sources. An HTTP API function needs one resolver and seven
of those classes. The rest cost about 50 ms of every cold start, an estimate
from timing the imports with and without it on the 2-core development machine.

``defer_package_init`` registers such a package without running its
``__init__``. Its submodules import as usual, and each name listed for it
imports only the submodule that defines it. Any other name runs the real
``__init__`` first, so every import still works, only later.

``nature_risk/__init__.py`` defers both packages, so a function that imports
``nature_risk`` before Powertools gets the shorter cold start. Import from
the defining submodule (``event_handler.api_gateway``, not
``event_handler``) to keep it. ``tests/unit/test_deferred_imports.py`` checks
that every listed name is the one the real ``__init__`` exports and that the
functions' cold starts leave asyncio out.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

# For each deferred package: names its __init__ exports -> defining submodule.
DEFERRED_PACKAGES: Mapping[str, Mapping[str, str]] = {
    "aws_lambda_powertools.event_handler": {
        "ALBResolver": "api_gateway",
        "APIGatewayHttpResolver": "api_gateway",
        "APIGatewayRestResolver": "api_gateway",
        "ApiGatewayResolver": "api_gateway",
        "CORSConfig": "api_gateway",
        "Response": "api_gateway",
    },
    "aws_lambda_powertools.utilities.data_classes": {
        "ALBEvent": "alb_event",
        "APIGatewayProxyEvent": "api_gateway_proxy_event",
        "APIGatewayProxyEventV2": "api_gateway_proxy_event",
        "BedrockAgentEvent": "bedrock_agent_event",
        "LambdaFunctionUrlEvent": "lambda_function_url_event",
        "VPCLatticeEvent": "vpc_lattice",
        "VPCLatticeEventV2": "vpc_lattice",
    },
}


def defer_package_init(name: str, names: Mapping[str, str]) -> bool:
    """Register package ``name`` so that its ``__init__`` runs only when needed.

    ``names`` maps names the package exports to the submodule that defines
    each. Returns False, changing nothing, when the package is already
    imported or cannot be found.
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return False
    package = importlib.util.module_from_spec(spec)
    folder = Path(next(iter(spec.submodule_search_locations)))
    lock = threading.RLock()

    def complete() -> None:
        """Run the real ``__init__`` in the registered module, once."""
        with lock:
            if package.__dict__.pop("__getattr__", None) is not None:
                spec.loader.exec_module(package)

    def __getattr__(attribute: str) -> object:  # noqa: N807 - module __getattr__
        if attribute in names:
            submodule = importlib.import_module(f"{name}.{names[attribute]}")
            return getattr(submodule, attribute)
        if not attribute.startswith("__") and (
            (folder / f"{attribute}.py").is_file() or (folder / attribute).is_dir()
        ):
            return importlib.import_module(f"{name}.{attribute}")
        complete()
        return getattr(package, attribute)

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, package)
    return True


def defer_powertools_packages() -> None:
    """Defer every package in ``DEFERRED_PACKAGES``."""
    for name, names in DEFERRED_PACKAGES.items():
        defer_package_init(name, names)


def is_deferred(module: ModuleType) -> bool:
    """Tell whether ``module`` is registered and its ``__init__`` has not run."""
    return "__getattr__" in module.__dict__ and module.__name__ in DEFERRED_PACKAGES
