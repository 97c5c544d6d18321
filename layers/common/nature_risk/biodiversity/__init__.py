"""Biodiversity module for mining and agriculture portfolios.

Public API, used by the dashboard routes and by saved portfolios:

- ``get_biodiversity()`` returns the process-wide ``Biodiversity`` (open data,
  layer packs and settings), loaded on first call. Request handlers call
  ``require_biodiversity()``, which raises an invalid pack as a 503;
- ``parse_mining_assets(body, content_type, limits)`` and
  ``build_mining_dashboard(assets, data, packs, radius_km=...,
  coastal_fallback_km=...)``;
- ``parse_agriculture_holdings(body, content_type, limits)`` and
  ``build_agriculture_dashboard(holdings, data, packs, kb)``;
- for saved portfolios, ``nature_risk.biodiversity.portfolio`` has
  ``parse_mining_portfolio`` / ``mining_portfolio_dashboard`` and
  ``parse_agriculture_portfolio`` / ``agriculture_portfolio_dashboard`` in the
  shape of ``nature_risk.portfolio_modules.PortfolioModule``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from nature_risk.biodiversity.agriculture import (
    AgricultureHoldings,
    build_agriculture_dashboard,
    parse_agriculture_holdings,
)
from nature_risk.biodiversity.data import BiodiversityData
from nature_risk.biodiversity.mining import (
    MiningAssets,
    build_mining_dashboard,
    parse_mining_assets,
)
from nature_risk.biodiversity.packs import LayerPack, LayerPackError, load_packs
from nature_risk.config import ConfigurationError
from nature_risk.config.biodiversity import BiodiversitySettings
from nature_risk.errors import ServiceUnavailable
from nature_risk.observability import get_logger

__all__ = [
    "AgricultureHoldings",
    "Biodiversity",
    "BiodiversityData",
    "LayerPack",
    "LayerPackError",
    "MiningAssets",
    "build_agriculture_dashboard",
    "build_mining_dashboard",
    "get_biodiversity",
    "load_biodiversity",
    "parse_agriculture_holdings",
    "parse_mining_assets",
    "require_biodiversity",
]

PACK_UNAVAILABLE_MESSAGE = (
    "The biodiversity dashboards are unavailable because a layer pack is invalid. "
    "Quote the request id when you report it."
)
CONFIGURATION_UNAVAILABLE_MESSAGE = (
    "The biodiversity dashboards are unavailable because their data is not "
    "configured. Quote the request id when you report it."
)


@dataclass(frozen=True, slots=True)
class Biodiversity:
    """The loaded open data, the validated layer packs and the settings used."""

    data: BiodiversityData
    packs: list[LayerPack]
    settings: BiodiversitySettings


def load_biodiversity(settings: BiodiversitySettings) -> Biodiversity:
    """Load the open data and every layer pack; raise LayerPackError on a bad pack."""
    data = BiodiversityData.from_folder(settings.data_dir)
    return Biodiversity(
        data=data,
        packs=load_packs(settings.packs_dir, data.countries.countries.keys()),
        settings=settings,
    )


@functools.cache
def get_biodiversity() -> Biodiversity:
    """Return the data named by the environment, loaded once per process."""
    return load_biodiversity(BiodiversitySettings.from_env())


def require_biodiversity() -> Biodiversity:
    """Return ``get_biodiversity()`` for a request; raise 503 when it fails.

    An invalid pack is logged for the operator with the pack's folder name and
    the field or table row at fault, and an invalid setting (such as a missing
    ``BIODIVERSITY_DATA_DIR``) with its message, which names the variable.
    Both come from the deployment, never from a request. The load is retried
    on the next request.
    """
    try:
        return get_biodiversity()
    except LayerPackError as error:
        get_logger().error(
            "Layer pack invalid",
            extra={
                "error_class": type(error).__name__,
                "error_code": "pack_invalid",
                "layer_pack": error.pack,
                "pack_location": error.location,
            },
        )
        raise ServiceUnavailable(PACK_UNAVAILABLE_MESSAGE) from None
    except ConfigurationError as error:
        get_logger().error("Biodiversity settings invalid", extra=error.log_fields())
        raise ServiceUnavailable(CONFIGURATION_UNAVAILABLE_MESSAGE) from None
