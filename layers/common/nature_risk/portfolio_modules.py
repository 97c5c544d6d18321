"""The modules a saved portfolio can belong to, and how each parses and scores.

A module turns a request body into holdings that can be stored as JSON
objects (one per holding) and turns stored holdings back into its dashboard,
with the same parser and dashboard code the public dashboard routes use.
``MODULES`` is the one place where a module's functions are looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nature_risk.config import InputLimits
from nature_risk.errors import InputError, Problem


@dataclass(frozen=True, slots=True)
class ParsedHoldings:
    """Holdings as JSON objects in input order, with the body's currency and options.

    Each record's ``row`` is a spreadsheet row, or an index in the JSON list
    ``records_field`` when the body was JSON (``records_field`` is None
    otherwise).
    """

    records: list[dict[str, Any]]
    currency: str | None
    options: dict[str, Any] = field(default_factory=dict)
    records_field: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioModule:
    """A module's body parser and its dashboard builder for stored holdings."""

    name: str
    # Parses a body; the mapping gives a raw CSV body its form fields.
    parse: Callable[
        [bytes, str, InputLimits, Mapping[str, object] | None], ParsedHoldings
    ]
    dashboard: Callable[
        [list[dict[str, Any]], str | None, Mapping[str, Any]], dict[str, object]
    ]
    # Option flags the dashboard reads. As on the public dashboard route, a
    # query parameter of the same name overrides the body's flag.
    query_flags: frozenset[str] = frozenset()

    def with_query_flags(
        self, options: Mapping[str, Any], flags: Mapping[str, bool | None]
    ) -> dict[str, Any]:
        """Return ``options`` with each flag this module reads set from ``flags``.

        A flag that is None (absent from the query string) or that the module
        does not read leaves ``options`` as they are.
        """
        merged = dict(options)
        for flag, value in flags.items():
            if value is not None and flag in self.query_flags:
                merged[flag] = value
        return merged


@dataclass(frozen=True, slots=True)
class StoredHoldings:
    """Stored natural-capital holdings in the shape ``build_dashboard`` reads."""

    rows: np.ndarray
    names: list[str]
    codes: list[str]
    amounts: np.ndarray | None
    currency: str | None


def parse_natural_capital(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> ParsedHoldings:
    """Parse with the dashboard's parser; keep row, name, code and amount.

    The options are parsed as the public route parses them, and only the
    known flags the body sets are kept, so the saved dashboard reads them
    alike and no other key or value is stored.
    """
    from nature_risk.natural_capital import request_flags
    from nature_risk.portfolio_input import parse_holdings

    table = parse_holdings(body, content_type, limits, declared)
    amounts = None if table.amounts is None else table.amounts.tolist()
    records = [
        {
            "row": int(row),
            "name": name,
            "code": code,
            "amount": None if amounts is None else float(amounts[index]),
        }
        for index, (row, name, code) in enumerate(
            zip(table.rows.tolist(), table.names, table.codes, strict=True)
        )
    ]
    return ParsedHoldings(
        records, table.currency, request_flags(table.options), table.records_field
    )


def natural_capital_holdings(
    records: list[dict[str, Any]], currency: str | None
) -> StoredHoldings:
    """Rebuild the dashboard's input columns from stored holdings."""
    has_amounts = bool(records) and records[0].get("amount") is not None
    return StoredHoldings(
        rows=np.fromiter((record["row"] for record in records), int, len(records)),
        names=[record.get("name") or "" for record in records],
        codes=[record["code"] for record in records],
        amounts=(
            np.fromiter((record["amount"] for record in records), float, len(records))
            if has_amounts
            else None
        ),
        currency=currency,
    )


def natural_capital_dashboard(
    records: list[dict[str, Any]], currency: str | None, options: Mapping[str, Any]
) -> dict[str, object]:
    """Build the natural capital dashboard of stored holdings."""
    from nature_risk.knowledge_base import get_knowledge_base
    from nature_risk.natural_capital import DashboardOptions, build_dashboard

    # Portfolios saved before options were parsed on save may hold text
    # flags such as "false", which this reads as the public route does.
    dashboard_options = DashboardOptions.from_request(options)
    return build_dashboard(
        natural_capital_holdings(records, currency),
        get_knowledge_base(),
        dashboard_options,
    )


def _parse_mining(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> ParsedHoldings:
    from nature_risk.biodiversity.portfolio import parse_mining_portfolio

    return parse_mining_portfolio(body, content_type, limits, declared)


def _mining_dashboard(
    records: list[dict[str, Any]], currency: str | None, options: Mapping[str, Any]
) -> dict[str, object]:
    from nature_risk.biodiversity.portfolio import mining_portfolio_dashboard

    return mining_portfolio_dashboard(records, currency, options)


def _parse_agriculture(
    body: bytes,
    content_type: str,
    limits: InputLimits,
    declared: Mapping[str, object] | None = None,
) -> ParsedHoldings:
    from nature_risk.biodiversity.portfolio import parse_agriculture_portfolio

    return parse_agriculture_portfolio(body, content_type, limits, declared)


def _agriculture_dashboard(
    records: list[dict[str, Any]], currency: str | None, options: Mapping[str, Any]
) -> dict[str, object]:
    from nature_risk.biodiversity.portfolio import agriculture_portfolio_dashboard

    return agriculture_portfolio_dashboard(records, currency, options)


# The biodiversity modules import shapely and read geometry, so they load on a
# portfolio's first use of them rather than when this module is imported.
MODULES: dict[str, PortfolioModule] = {
    "natural_capital": PortfolioModule(
        "natural_capital",
        parse_natural_capital,
        natural_capital_dashboard,
        frozenset({"exclude_water_supply"}),
    ),
    "mining": PortfolioModule("mining", _parse_mining, _mining_dashboard),
    "agriculture": PortfolioModule(
        "agriculture", _parse_agriculture, _agriculture_dashboard
    ),
}


def get_module(name: object) -> PortfolioModule:
    """Look up a module by name; raise ``InputError`` naming the field otherwise."""
    module = MODULES.get(name) if isinstance(name, str) else None
    if module is None:
        raise InputError(
            "The portfolio's module is not supported.",
            [
                Problem(
                    field="module", reason="not one of " + ", ".join(sorted(MODULES))
                )
            ],
        )
    return module
