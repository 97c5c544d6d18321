"""Saved-portfolio hooks for the mining and agriculture modules.

Each pair matches ``nature_risk.portfolio_modules.PortfolioModule``: ``parse``
turns a request body into JSON records for storage, with the dashboard's own
parser, and ``dashboard`` rebuilds the module's input from stored records and
returns the same dashboard as the public route. The options keep how the
upload counted rows, so that problems name rows the same way after a reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nature_risk.biodiversity.agriculture import (
    AgricultureHoldings,
    build_agriculture_dashboard,
    parse_agriculture_holdings,
)
from nature_risk.biodiversity.inputs import RowLocator
from nature_risk.biodiversity.mining import (
    MiningAssets,
    build_mining_dashboard,
    parse_mining_assets,
)
from nature_risk.config import InputLimits

if TYPE_CHECKING:
    from nature_risk.portfolio_modules import ParsedHoldings


def _options(locator: RowLocator) -> dict[str, Any]:
    return {"row_source": locator.source, "records_field": locator.records_field}


def _records_field(locator: RowLocator) -> str | None:
    # JSON rows are indexes of this list, named as the locator names them.
    # CSV rows are spreadsheet rows, which no list names.
    return (locator.records_field or "records") if locator.source == "json" else None


def _locator(options: Mapping[str, Any]) -> RowLocator:
    source = options.get("row_source")
    field = options.get("records_field")
    return RowLocator(
        "json" if source == "json" else "csv",
        field if isinstance(field, str) else None,
    )


def _parsed_holdings(parsed: MiningAssets | AgricultureHoldings) -> ParsedHoldings:
    """Return a module's validated upload as records for storage."""
    from nature_risk.portfolio_modules import ParsedHoldings

    return ParsedHoldings(
        parsed.to_records(),
        parsed.currency,
        _options(parsed.locator),
        _records_field(parsed.locator),
    )


def parse_mining_portfolio(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> ParsedHoldings:
    """Parse a mining upload for storage; raise what ``parse_mining_assets`` raises."""
    return _parsed_holdings(parse_mining_assets(body, content_type, limits, declared))


def mining_portfolio_dashboard(
    records: list[dict[str, Any]], currency: str | None, options: Mapping[str, Any]
) -> dict[str, object]:
    """Build the mining dashboard of stored assets, in the stored currency."""
    from nature_risk.biodiversity import require_biodiversity

    biodiversity = require_biodiversity()
    return build_mining_dashboard(
        MiningAssets.from_records(records, _locator(options), currency),
        biodiversity.data,
        biodiversity.packs,
        radius_km=biodiversity.settings.radius_km,
        coastal_fallback_km=biodiversity.settings.coastal_fallback_km,
    )


def parse_agriculture_portfolio(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> ParsedHoldings:
    """Parse an agriculture upload for storage, as ``parse_agriculture_holdings``."""
    holdings = parse_agriculture_holdings(body, content_type, limits, declared)
    return _parsed_holdings(holdings)


def agriculture_portfolio_dashboard(
    records: list[dict[str, Any]], currency: str | None, options: Mapping[str, Any]
) -> dict[str, object]:
    """Build the agriculture dashboard of stored holdings, in the stored currency."""
    from nature_risk.biodiversity import require_biodiversity
    from nature_risk.knowledge_base import get_knowledge_base

    biodiversity = require_biodiversity()
    return build_agriculture_dashboard(
        AgricultureHoldings.from_records(records, _locator(options), currency),
        biodiversity.data,
        biodiversity.packs,
        get_knowledge_base(),
    )
