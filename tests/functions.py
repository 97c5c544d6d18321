"""Load a function's ``app.py`` the way Lambda does, under a unique module name.

Every function's handler is ``app.lambda_handler`` in its own folder, so the
tests cannot import them all as ``app``. Lambda puts the function folder on
``sys.path``; this loader does the same, so sibling modules resolve.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def load_function(name: str, *, fresh: bool = False) -> ModuleType:
    """Import ``functions/<name>/app.py`` as module ``<name>_app``.

    ``fresh=True`` imports it again, as a cold start would. A failed import
    leaves no module behind, as ``importlib.import_module`` does, so the
    next call imports it again.
    """
    module_name = f"{name}_app"
    if not fresh and module_name in sys.modules:
        return sys.modules[module_name]
    folder = FUNCTIONS_DIR / name
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(module_name, folder / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
