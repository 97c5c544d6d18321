"""Start-up settings that template.yaml and the layer build must agree on."""

from __future__ import annotations

import re

from tests.template.template_support import REPO_ROOT, functions, load_template

SNAPSHOT_PATH = "/opt/encore.snapshot"


def test_globals_disable_pydantic_plugins():
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"


def test_release_readers_get_the_snapshot():
    readers = {
        logical_id: function["Properties"]["Environment"]["Variables"]
        for logical_id, function in functions().items()
        if "ENCORE_KB_DIR" in function["Properties"]["Environment"]["Variables"]
    }
    assert set(readers) == {"DashboardFunction", "PortfolioFunction"}
    for logical_id, variables in readers.items():
        assert variables["ENCORE_KB_DIR"] == "/opt/encore", logical_id
        assert variables["ENCORE_KB_SNAPSHOT"] == SNAPSHOT_PATH, logical_id


def test_layer_build_writes_the_snapshot():
    # Lambda mounts the layer's output folder at /opt.
    makefile = (REPO_ROOT / "layers" / "common" / "Makefile").read_text()
    command = re.search(
        r"-m nature_risk\.knowledge_base_snapshot \\\n\s*(\S+) (\S+)", makefile
    )
    assert command is not None
    assert command.group(1) == '"$(ARTIFACTS_DIR)/encore"'
    assert command.group(2) == '"$(ARTIFACTS_DIR)/encore.snapshot"'
