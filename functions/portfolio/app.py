"""Portfolio function: a signed-in user's saved portfolios, in PostgreSQL.

Every route is behind the HTTP API's JWT authorizer and works only on the
portfolios of the token's subject. Each request runs in one database
transaction, so a failure part-way leaves nothing written. The database
connection is opened on first use and kept for warm invocations. The ENCORE
release, which rates saved natural capital portfolios, loads when this module
is imported, so a broken release fails the cold start.
"""

from __future__ import annotations

# Import nature_risk before anything else, because it can leave the unused
# Powertools packages out of the cold start only before Powertools is imported.
import nature_risk  # noqa: F401

# isort: split
import datetime as dt
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from nature_risk.api import create_resolver, json_body
from nature_risk.config import ConfigurationError, InputLimits
from nature_risk.config.database import DatabaseSettings, PortfolioLimits
from nature_risk.errors import (
    PayloadTooLarge,
    ServiceUnavailable,
)
from nature_risk.knowledge_base import load_at_cold_start
from nature_risk.observability import get_logger, lambda_entry
from nature_risk.portfolio_modules import get_module
from nature_risk.storage import portfolio_export
from nature_risk.storage import portfolios as repository
from nature_risk.storage.db import UNAVAILABLE_MESSAGE, Database
from portfolio_requests import (
    cursor_value,
    etag,
    expected_version,
    owner_of,
    page_size,
    read_draft,
)

logger = get_logger("portfolio")
# Saved natural capital portfolios are rated against the release. A broken
# one fails the cold start with its file, row and column, rather than every
# dashboard request. From the layer's snapshot this takes a few milliseconds.
load_at_cold_start(logger)
app = create_resolver(logger)

INPUT_LIMITS = InputLimits.from_env()
PORTFOLIO_LIMITS = PortfolioLimits.from_env()
DEFAULT_PAGE_SIZE = 20
# Lambda's limit on a synchronous response is 6 MB, envelope included. The
# reserve leaves room for the status code and headers around the body. Both
# equal the constants of nature_risk.biodiversity.results, which is not
# imported here because it loads the biodiversity package.
MAX_RESPONSE_BYTES = 6_000_000
ENVELOPE_RESERVE_BYTES = 16_000
BIODIVERSITY_MODULES = frozenset({"mining", "agriculture"})
# The query flag of POST /dashboards/natural-capital, validated as that route
# validates it, so an invalid or repeated value gets the same 422.
ExcludeWaterSupply = Annotated[
    bool | None,
    Query(description="Overrides options.exclude_water_supply of the body."),
]

_database: list[Database] = []


def database() -> Database:
    """Return the container's database, created on first use."""
    if not _database:
        try:
            settings = DatabaseSettings.from_env()
        except ConfigurationError as error:
            logger.error(
                "The database settings are invalid",
                extra={"error_class": type(error).__name__},
            )
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from None
        _database.append(Database(settings))
    return _database[0]


def reset_database() -> None:
    """Close and forget the connection, so the next request reads the settings."""
    if _database:
        _database.pop().close()


def _json(
    status: int, payload: Any, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json_body(payload, ensure_ascii=False),
        headers=headers or {},
    )


def _check_fits(body: str, message: str, headers: dict[str, str] | None = None) -> None:
    """Raise ``PayloadTooLarge`` (413, with ``headers``) for a body Lambda rejects."""
    # json.dumps escapes the body as Lambda's response envelope does.
    if len(json.dumps(body)) > MAX_RESPONSE_BYTES - ENVELOPE_RESERVE_BYTES:
        raise PayloadTooLarge(message, headers=headers)


@app.get("/portfolios", include_in_schema=False)
def list_portfolios() -> Response[str]:
    owner = owner_of(app.current_event)
    size = page_size(
        app.current_event,
        min(DEFAULT_PAGE_SIZE, PORTFOLIO_LIMITS.max_page_size),
        PORTFOLIO_LIMITS.max_page_size,
    )
    cursor = cursor_value(app.current_event)
    with database().transaction() as connection:
        page = repository.list_portfolios(connection, owner, size, cursor)
    return _json(
        200,
        {
            "portfolios": [portfolio.summary() for portfolio in page.items],
            "next_cursor": page.next_cursor,
        },
    )


@app.post("/portfolios", include_in_schema=False)
def create_portfolio(exclude_water_supply: ExcludeWaterSupply = None) -> Response[str]:
    owner = owner_of(app.current_event)
    draft = read_draft(
        app.current_event,
        INPUT_LIMITS,
        {"exclude_water_supply": exclude_water_supply},
    )
    with database().transaction() as connection:
        portfolio = repository.create_portfolio(
            connection, owner, draft, PORTFOLIO_LIMITS
        )
    return _json(
        201,
        portfolio.summary(),
        {"ETag": etag(portfolio.version), "Location": f"/portfolios/{portfolio.id}"},
    )


@app.get("/portfolios/<portfolio_id>", include_in_schema=False)
def get_portfolio(portfolio_id: str) -> Response[str]:
    owner = owner_of(app.current_event)
    key = repository.parse_portfolio_id(portfolio_id)
    with database().transaction() as connection:
        portfolio = repository.get_portfolio(connection, owner, key)
    headers = {"ETag": etag(portfolio.version)}
    response = _json(200, portfolio.to_dict(), headers)
    # The 413 keeps the ETag, so that a client can replace the portfolio
    # without reading it in one response.
    _check_fits(
        response.body,
        f"The portfolio is larger than the {MAX_RESPONSE_BYTES} bytes a "
        "response may hold. Read its holdings page by page from "
        "GET /account/data.",
        headers,
    )
    return response


@app.put("/portfolios/<portfolio_id>", include_in_schema=False)
def replace_portfolio(
    portfolio_id: str, exclude_water_supply: ExcludeWaterSupply = None
) -> Response[str]:
    owner = owner_of(app.current_event)
    key = repository.parse_portfolio_id(portfolio_id)
    versions = expected_version(app.current_event, required=True)
    assert versions is not None  # required=True raises instead of returning None
    draft = read_draft(
        app.current_event,
        INPUT_LIMITS,
        {"exclude_water_supply": exclude_water_supply},
    )
    with database().transaction() as connection:
        portfolio = repository.replace_portfolio(
            connection, owner, key, versions, draft, PORTFOLIO_LIMITS
        )
    return _json(200, portfolio.summary(), {"ETag": etag(portfolio.version)})


@app.delete("/portfolios/<portfolio_id>", include_in_schema=False)
def delete_portfolio(portfolio_id: str) -> Response[str]:
    owner = owner_of(app.current_event)
    key = repository.parse_portfolio_id(portfolio_id)
    versions = expected_version(app.current_event, required=False)
    with database().transaction() as connection:
        repository.delete_portfolio(connection, owner, key, versions)
    return Response(status_code=204, body="")


@app.get("/portfolios/<portfolio_id>/dashboard", include_in_schema=False)
def get_portfolio_dashboard(
    portfolio_id: str, exclude_water_supply: ExcludeWaterSupply = None
) -> Response[str]:
    owner = owner_of(app.current_event)
    key = repository.parse_portfolio_id(portfolio_id)
    with database().transaction() as connection:
        portfolio = repository.get_portfolio(connection, owner, key)
    # The dashboard is computed after the transaction ends, so a slow
    # computation never keeps a database snapshot open.
    module = get_module(portfolio.module)
    # A query flag overrides the saved option for this dashboard only, as it
    # overrides the body's on the public route.
    options = module.with_query_flags(
        portfolio.options, {"exclude_water_supply": exclude_water_supply}
    )
    dashboard = module.dashboard(portfolio.holdings, portfolio.currency, options)
    response = _json(
        200,
        {"portfolio": portfolio.summary(), "dashboard": dashboard},
        {"ETag": etag(portfolio.version)},
    )
    if module.name in BIODIVERSITY_MODULES:
        # The public mining and agriculture routes' bound. Their dashboards
        # echo asset names, and the module is already loaded.
        from nature_risk.biodiversity.results import check_response_size

        check_response_size(response.body)
    else:
        _check_fits(
            response.body,
            f"The dashboard is larger than the {MAX_RESPONSE_BYTES} bytes a "
            "response may hold: send fewer rows or shorter names.",
        )
    return response


@app.get("/account/data", include_in_schema=False)
def export_account_data() -> Response[str]:
    owner = owner_of(app.current_event)
    cursor = cursor_value(app.current_event)
    with database().transaction("REPEATABLE READ") as connection:
        page = portfolio_export.export_page(
            connection, owner, PORTFOLIO_LIMITS.max_export_page_bytes, cursor
        )
    filename = f"nature-risk-data-{page.page_number}.json"
    response = _json(
        200,
        {
            "exported_at": dt.datetime.now(dt.UTC).isoformat(),
            "subject": owner,
            "page": page.page_number,
            "portfolios": [part.to_dict() for part in page.parts],
            "next_cursor": page.next_cursor,
        },
        {"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    # NOTE: the page budget keeps a page under this bound only for holdings
    # within MAX_PORTFOLIO_HOLDING_BYTES. A larger holding saved before that
    # limit existed can still fail here, and only replacing it fixes that.
    _check_fits(
        response.body,
        f"The export page is larger than the {MAX_RESPONSE_BYTES} bytes a "
        "response may hold, because a holding is larger than "
        "MAX_PORTFOLIO_HOLDING_BYTES: replace that portfolio with shorter names.",
    )
    return response


@app.delete("/account/data", include_in_schema=False)
def delete_account_data() -> Response[str]:
    owner = owner_of(app.current_event)
    with database().transaction() as connection:
        deleted = repository.delete_all_portfolios(connection, owner)
    return _json(200, {"deleted_portfolios": deleted})


ROUTE_KEYS = (
    "GET /portfolios",
    "POST /portfolios",
    "GET /portfolios/{portfolio_id}",
    "PUT /portfolios/{portfolio_id}",
    "DELETE /portfolios/{portfolio_id}",
    "GET /portfolios/{portfolio_id}/dashboard",
    "GET /account/data",
    "DELETE /account/data",
)


def route_keys() -> list[str]:
    """List every API Gateway route key this function serves (all need a JWT)."""
    return list(ROUTE_KEYS)


@lambda_entry(logger, resolver=app)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
