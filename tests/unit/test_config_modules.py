"""The settings package: which area modules a cold start loads, and where names live.

Cold starts run in a fresh interpreter, because this test process imports
every area module.
"""

from __future__ import annotations

import nature_risk.config
import pytest
from nature_risk.config.database import DEFAULT_DB_CA_BUNDLE

from infra.fetch_rds_ca_bundle import DEFAULT_OUTPUT
from tests.unit.test_deferred_imports import LAYER_DIR, loaded_at_cold_start

AREA_MODULES = (
    "nature_risk.config.backup",
    "nature_risk.config.biodiversity",
    "nature_risk.config.database",
)
AREA_NAMES = (
    "BackupSettings",
    "BiodiversityLimits",
    "BiodiversitySettings",
    "DatabaseSettings",
    "DEFAULT_DB_CA_BUNDLE",
    "PortfolioLimits",
)


def test_dashboard_cold_start_skips_area_settings(encore_dir, biodiversity_dir):
    names = ("nature_risk.config", *AREA_MODULES)
    loaded = loaded_at_cold_start("dashboard", names, encore_dir, biodiversity_dir)
    assert loaded == ["nature_risk.config"]


def test_portfolio_cold_start_loads_database_only(encore_dir, biodiversity_dir):
    names = ("nature_risk.config", *AREA_MODULES)
    loaded = loaded_at_cold_start("portfolio", names, encore_dir, biodiversity_dir)
    assert loaded == ["nature_risk.config", "nature_risk.config.database"]


@pytest.mark.parametrize("name", AREA_NAMES)
def test_package_does_not_export_area_name(name):
    # Each name is imported from the module that defines it, never re-exported.
    assert not hasattr(nature_risk.config, name)


def test_default_ca_bundle_in_layer_certs_folder():
    expected = LAYER_DIR / "nature_risk" / "certs" / "rds-global-bundle.pem"
    assert DEFAULT_DB_CA_BUNDLE == expected
    assert DEFAULT_DB_CA_BUNDLE == DEFAULT_OUTPUT
