"""Settings of the biodiversity data and limits of the biodiversity dashboards."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from nature_risk.config import ConfigurationError, env_dir, env_int_field, env_optional


class BiodiversitySettings(NamedTuple):
    """Locations of the biodiversity data and layer packs, and their distances."""

    data_dir: Path
    packs_dir: Path | None = None
    radius_km: int = 10
    coastal_fallback_km: int = 25

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BiodiversitySettings:
        packs = env_optional("BIODIVERSITY_PACKS_DIR", env=env)
        if packs is not None and not Path(packs).is_dir():
            raise ConfigurationError(
                "BIODIVERSITY_PACKS_DIR does not name an existing folder",
                setting="BIODIVERSITY_PACKS_DIR",
            )
        return cls(
            data_dir=env_dir("BIODIVERSITY_DATA_DIR", env=env),
            packs_dir=Path(packs) if packs else None,
            radius_km=env_int_field(
                cls, "radius_km", "BIODIVERSITY_RADIUS_KM", env=env
            ),
            coastal_fallback_km=env_int_field(
                cls,
                "coastal_fallback_km",
                "BIODIVERSITY_COASTAL_FALLBACK_KM",
                minimum=0,
                env=env,
            ),
        )


class BiodiversityLimits(NamedTuple):
    """Row limits of the mining and agriculture dashboards.

    Both are sized so that the dashboard fits in one Lambda response (6 MB)
    and is built well inside the function's timeout: about 330 bytes of JSON
    per asset or holding, with short names.
    """

    max_mining_assets: int = 10_000
    max_agriculture_holdings: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BiodiversityLimits:
        return cls(
            max_mining_assets=env_int_field(
                cls, "max_mining_assets", "MAX_MINING_ASSETS", env=env
            ),
            max_agriculture_holdings=env_int_field(
                cls, "max_agriculture_holdings", "MAX_AGRICULTURE_HOLDINGS", env=env
            ),
        )
