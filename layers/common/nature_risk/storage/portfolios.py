"""The saved-portfolio repository: every query is scoped to the owner.

Each function takes a connection inside a transaction (``Database.transaction``)
and the owner, which is the JWT subject. A portfolio that does not exist and
one that belongs to someone else raise the same ``NotFound``. Holdings are
stored one row each, in order, as the JSON object the module's parser made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pg8000.native

from nature_risk.config.database import PortfolioLimits
from nature_risk.errors import (
    Conflict,
    InputError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Problem,
)
from nature_risk.storage.cursors import (
    InvalidCursor,
    canonical_uuid,
    decode_cursor,
    encode_cursor,
    format_timestamp,
    parse_timestamp,
    parse_uuid,
)
from nature_risk.text_encoding import (
    JsonPath,
    first_string_path,
    is_utf8_encodable,
    unencodable_path,
)

MODULES = ("natural_capital", "agriculture", "mining")
# Options that the mining and agriculture modules store so that a dashboard
# numbers rows as the upload did. They describe the parser's input, not the
# portfolio, so no response contains them, even when a client sent them.
PARSER_OPTIONS = frozenset({"row_source", "records_field"})
NOT_FOUND_MESSAGE = "The portfolio was not found."


@dataclasses.dataclass(frozen=True, slots=True)
class PortfolioDraft:
    """A portfolio as parsed from a create or replace request.

    Each holding's ``row`` is its row as the input counts rows: the
    spreadsheet row of a CSV upload, or its index in the JSON list
    ``records_field``. ``records_field`` is None for CSV and multipart input.
    """

    name: str
    module: str
    currency: str
    holdings: list[dict[str, Any]]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    records_field: str | None = None

    def holding_problem(self, index: int, field: str | None, reason: str) -> Problem:
        """Build a problem about ``holdings[index]``, located as the input was.

        A JSON holding is named as ``holdings[3].name`` and a CSV holding by
        its spreadsheet row and field. A holding without ``row`` is located
        by its position in ``holdings``.
        """
        if self.records_field is not None:
            label = self.holding_label(index)
            suffix = "" if field is None else f".{field}"
            return Problem(reason=reason, field=label + suffix)
        row = int(self.holdings[index].get("row", index))
        return Problem(reason=reason, row=row, field=field)

    def holding_label(self, index: int) -> str:
        """Name ``holdings[index]`` in a message: ``holdings[3]`` or ``row 5``."""
        row = int(self.holdings[index].get("row", index))
        if self.records_field is not None:
            return f"{self.records_field}[{row}]"
        return f"row {row}"


@dataclasses.dataclass(frozen=True, slots=True)
class Portfolio:
    """A saved portfolio; ``holdings`` is empty when only the summary was read."""

    id: uuid.UUID
    name: str
    module: str
    currency: str
    holdings_count: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    holdings: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the JSON form without holdings or the parser's options."""
        options = {
            key: value
            for key, value in self.options.items()
            if key not in PARSER_OPTIONS
        }
        return {
            "id": str(self.id),
            "name": self.name,
            "module": self.module,
            "currency": self.currency,
            "holdings_count": self.holdings_count,
            "options": options,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form with holdings."""
        return {**self.summary(), "holdings": self.holdings}


@dataclasses.dataclass(frozen=True, slots=True)
class PortfolioPage:
    """One page of an owner's portfolios and the cursor of the next page."""

    items: list[Portfolio]
    next_cursor: str | None


def _is_control(character: str) -> bool:
    # Cc covers C0, DEL and C1. Cs is a lone surrogate, which UTF-8 cannot encode.
    return unicodedata.category(character) in {"Cc", "Cs"}


def validate_draft(draft: PortfolioDraft, limits: PortfolioLimits) -> None:
    """Check name, module, currency and holdings count against the limits.

    Names are stored exactly as sent: quotes, SQL text and emoji are kept,
    while control characters and names of only spaces raise ``InputError``.
    """
    problems: list[Problem] = []
    name = draft.name
    if not isinstance(name, str):
        reason = "missing" if name is None else "not a string"
        problems.append(Problem(field="name", reason=reason))
    elif not name.strip():
        problems.append(Problem(field="name", reason="missing"))
    elif len(name) > limits.max_name_length:
        problems.append(
            Problem(
                field="name",
                reason=f"longer than {limits.max_name_length} characters",
            )
        )
    elif any(_is_control(character) for character in name):
        problems.append(Problem(field="name", reason="contains a control character"))
    if draft.module not in MODULES:
        problems.append(
            Problem(field="module", reason="not one of " + ", ".join(MODULES))
        )
    currency = draft.currency
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isupper()
        and currency.isalpha()
    ):
        problems.append(
            Problem(field="currency", reason="not a three-letter ISO 4217 code")
        )
    if problems:
        raise InputError("The portfolio is invalid.", problems)
    if len(draft.holdings) > limits.max_holdings:
        raise PayloadTooLarge(
            f"A portfolio may have at most {limits.max_holdings} holdings "
            "(MAX_PORTFOLIO_HOLDINGS)."
        )
    check_holding_sizes(draft, limits.max_holding_bytes)


def escaped_size(document: object) -> int:
    r"""Count the bytes ``document`` adds to a Lambda response as part of its body.

    The body is compact JSON without ASCII escaping, and Lambda writes it as
    a JSON string with ASCII escaping, so both escapes are counted. A ``"``
    takes 4 bytes (``\\\"``), a non-ASCII character 6 (``\uXXXX``, 12 outside
    the Basic Multilingual Plane) and a control character up to 7.
    """
    body = json.dumps(
        document, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return len(json.dumps(body)) - 2


def _escaped_size_bound(document: object) -> int:
    """Return a cheap upper bound of ``escaped_size(document)``.

    A byte of orjson's UTF-8 output becomes at most 3 bytes once both escapes
    apply, because a 2-byte character becomes ``\\u00e9``. So 7 times the byte
    count is never below the exact size, and the margin covers the two
    encoders' different spellings of numbers and control characters.
    """
    try:
        return 7 * len(orjson.dumps(document))
    except TypeError:
        # orjson rejects what json.dumps accepts, such as a lone surrogate.
        return escaped_size(document)


def check_holding_sizes(draft: PortfolioDraft, max_bytes: int) -> None:
    """Raise ``PayloadTooLarge`` naming the first holding over ``max_bytes``.

    The bound lets every holding fit in one page of the account export. The
    message locates the holding as problems do, by JSON index or CSV row.
    """
    holdings = draft.holdings
    if escaped_size(holdings) <= max_bytes:
        return
    for index, holding in enumerate(holdings):
        if _escaped_size_bound(holding) > max_bytes and (
            escaped_size(holding) > max_bytes
        ):
            raise PayloadTooLarge(
                f"The holding at {draft.holding_label(index)} is larger than the "
                f"limit of {max_bytes} bytes of JSON (MAX_PORTFOLIO_HOLDING_BYTES): "
                "shorten its text fields."
            )


def _unstorable_text(document: object) -> tuple[str, JsonPath] | None:
    """Return the reason and path of the first text jsonb cannot store, or None."""
    # PostgreSQL's jsonb rejects the NUL character and the driver cannot send
    # a lone surrogate, so both are reported here instead of failing the
    # whole statement. Only a real NUL counts: json.dumps spells it \u0000,
    # but a literal backslash followed by "u0000" is ordinary text.
    path = first_string_path(document, lambda text: "\x00" in text)
    if path is not None:
        return "contains a NUL character", path
    path = unencodable_path(document)
    if path is not None:
        return "contains an unpaired surrogate, which is not valid Unicode", path
    return None


def _holdings_json(draft: PortfolioDraft) -> str:
    text = json.dumps(draft.holdings, ensure_ascii=False, allow_nan=False)
    if "\\u0000" in text or not is_utf8_encodable(text):
        for index, holding in enumerate(draft.holdings):
            found = _unstorable_text(holding)
            if found is None:
                continue
            reason, path = found
            # The path starts with the holding's key. The parsers choose the
            # keys, but a key that is itself unstorable text is not named.
            key = path[0] if path else None
            if not isinstance(key, str) or _unstorable_text(key) is not None:
                key = None
            raise InputError(
                f"A holding {reason}.", [draft.holding_problem(index, key, reason)]
            )
    return text


def _options_json(options: dict[str, Any]) -> str:
    text = json.dumps(options, ensure_ascii=False, allow_nan=False)
    found = _unstorable_text(options)
    if found is not None:
        raise InputError(
            "The options are invalid.",
            [Problem(field="options", reason=found[0])],
        )
    return text


def portfolio_from_row(row: list[Any]) -> Portfolio:
    return Portfolio(
        id=row[0],
        name=row[1],
        module=row[2],
        currency=row[3],
        holdings_count=row[4],
        version=row[5],
        created_at=row[6],
        updated_at=row[7],
        options=row[8],
    )


def parse_portfolio_id(value: str) -> uuid.UUID:
    """Parse a path id in the lowercase 8-4-4-4-12 form this package writes.

    Any other text, including another spelling of a UUID, raises the
    ``NotFound`` of a missing portfolio.
    """
    parsed = canonical_uuid(value)
    if parsed is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return parsed


def _lock_owner(connection: pg8000.native.Connection, owner: str) -> None:
    # Serialises one owner's creates so that the per-user limit holds under
    # concurrent requests, without blocking other owners.
    connection.run(
        "SELECT pg_advisory_xact_lock(hashtextextended(:owner, 0))", owner=owner
    )


def _insert_holdings(
    connection: pg8000.native.Connection, portfolio_id: uuid.UUID, holdings_json: str
) -> None:
    connection.run(
        "INSERT INTO holdings (portfolio_id, position, data) "
        "SELECT :id, ordinality - 1, value "
        "FROM jsonb_array_elements(CAST(:holdings AS jsonb)) WITH ORDINALITY",
        id=portfolio_id,
        holdings=holdings_json,
    )


def _load_holdings(
    connection: pg8000.native.Connection, portfolio_id: uuid.UUID
) -> list[dict[str, Any]]:
    # One json_agg value parses faster in Python than one row per holding.
    rows = connection.run(
        "SELECT coalesce(json_agg(data ORDER BY position), '[]'::json) "
        "FROM holdings WHERE portfolio_id = :id",
        id=portfolio_id,
    )
    return rows[0][0]


def create_portfolio(
    connection: pg8000.native.Connection,
    owner: str,
    draft: PortfolioDraft,
    limits: PortfolioLimits,
) -> Portfolio:
    """Insert a portfolio and its holdings; raise ``Conflict`` over the user limit."""
    validate_draft(draft, limits)
    holdings_json = _holdings_json(draft)
    _lock_owner(connection, owner)
    count = connection.run(
        "SELECT count(*) FROM portfolios WHERE owner_sub = :owner", owner=owner
    )[0][0]
    if count >= limits.max_portfolios_per_user:
        raise Conflict(
            f"A user may save at most {limits.max_portfolios_per_user} portfolios "
            "(MAX_PORTFOLIOS_PER_USER). Delete one first."
        )
    portfolio_id = uuid.uuid4()
    rows = connection.run(
        "INSERT INTO portfolios "
        "(id, owner_sub, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options) "
        "VALUES (:id, :owner, :name, :module, :currency, :count, 1, "
        "now(), now(), CAST(:options AS jsonb)) "
        "RETURNING id, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options ",
        id=portfolio_id,
        owner=owner,
        name=draft.name,
        module=draft.module,
        currency=draft.currency,
        count=len(draft.holdings),
        options=_options_json(draft.options),
    )
    if draft.holdings:
        _insert_holdings(connection, portfolio_id, holdings_json)
    return dataclasses.replace(portfolio_from_row(rows[0]), holdings=draft.holdings)


def _encode_cursor(portfolio: Portfolio) -> str:
    return encode_cursor(f"{format_timestamp(portfolio.created_at)}|{portfolio.id}")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """Return the (created_at, id) that a list cursor starts after."""
    created_text, separator, id_text = decode_cursor(cursor).partition("|")
    if not separator:
        raise InvalidCursor()
    return parse_timestamp(created_text), parse_uuid(id_text)


def list_portfolios(
    connection: pg8000.native.Connection,
    owner: str,
    page_size: int,
    cursor: str | None = None,
) -> PortfolioPage:
    """Return one page of the owner's portfolios, oldest first, without holdings."""
    if cursor:
        after_created, after_id = _decode_cursor(cursor)
        rows = connection.run(
            "SELECT id, name, module, currency, holdings_count, version, "
            "created_at, updated_at, options "
            "FROM portfolios WHERE owner_sub = :owner "
            "AND (created_at, id) > (:after_created, :after_id) "
            "ORDER BY created_at, id LIMIT :limit",
            owner=owner,
            after_created=after_created,
            after_id=after_id,
            limit=page_size + 1,
        )
    else:
        rows = connection.run(
            "SELECT id, name, module, currency, holdings_count, version, "
            "created_at, updated_at, options "
            "FROM portfolios WHERE owner_sub = :owner "
            "ORDER BY created_at, id LIMIT :limit",
            owner=owner,
            limit=page_size + 1,
        )
    items = [portfolio_from_row(row) for row in rows[:page_size]]
    next_cursor = _encode_cursor(items[-1]) if len(rows) > page_size else None
    return PortfolioPage(items, next_cursor)


def get_portfolio(
    connection: pg8000.native.Connection,
    owner: str,
    portfolio_id: uuid.UUID,
    *,
    with_holdings: bool = True,
) -> Portfolio:
    """Read one of the owner's portfolios; raise ``NotFound`` for any other id."""
    rows = connection.run(
        "SELECT id, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options "
        "FROM portfolios "
        "WHERE id = :id AND owner_sub = :owner",
        id=portfolio_id,
        owner=owner,
    )
    if not rows:
        raise NotFound(NOT_FOUND_MESSAGE)
    portfolio = portfolio_from_row(rows[0])
    if not with_holdings:
        return portfolio
    return dataclasses.replace(
        portfolio, holdings=_load_holdings(connection, portfolio_id)
    )


def _raise_missing_or_stale(
    connection: pg8000.native.Connection, owner: str, portfolio_id: uuid.UUID
) -> None:
    exists = connection.run(
        "SELECT 1 FROM portfolios WHERE id = :id AND owner_sub = :owner",
        id=portfolio_id,
        owner=owner,
    )
    if exists:
        raise PreconditionFailed(
            "The portfolio changed since the version in If-Match. "
            "Read it again and retry with its current version."
        )
    raise NotFound(NOT_FOUND_MESSAGE)


def _version_list(expected: int | Sequence[int]) -> list[int]:
    # An empty list matches no version.
    return [expected] if isinstance(expected, int) else list(expected)


def replace_portfolio(
    connection: pg8000.native.Connection,
    owner: str,
    portfolio_id: uuid.UUID,
    expected_version: int | Sequence[int],
    draft: PortfolioDraft,
    limits: PortfolioLimits,
) -> Portfolio:
    """Replace a portfolio if its version is ``expected_version`` or one of them.

    The version check and the increment are one ``UPDATE``, so of two requests
    with the same version exactly one matches. The other raises
    ``PreconditionFailed``; a missing or foreign id raises ``NotFound``.
    """
    validate_draft(draft, limits)
    holdings_json = _holdings_json(draft)
    rows = connection.run(
        "UPDATE portfolios SET name = :name, module = :module, "
        "currency = :currency, holdings_count = :count, "
        "options = CAST(:options AS jsonb), "
        "version = version + 1, updated_at = now() "
        "WHERE id = :id AND owner_sub = :owner "
        "AND version = ANY(CAST(:versions AS integer[])) "
        "RETURNING id, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options ",
        name=draft.name,
        module=draft.module,
        currency=draft.currency,
        count=len(draft.holdings),
        options=_options_json(draft.options),
        id=portfolio_id,
        owner=owner,
        versions=_version_list(expected_version),
    )
    if not rows:
        _raise_missing_or_stale(connection, owner, portfolio_id)
    connection.run("DELETE FROM holdings WHERE portfolio_id = :id", id=portfolio_id)
    if draft.holdings:
        _insert_holdings(connection, portfolio_id, holdings_json)
    return dataclasses.replace(portfolio_from_row(rows[0]), holdings=draft.holdings)


def delete_portfolio(
    connection: pg8000.native.Connection,
    owner: str,
    portfolio_id: uuid.UUID,
    expected_version: int | Sequence[int] | None = None,
) -> None:
    """Delete a portfolio with its holdings and record only its id and time.

    With ``expected_version`` (one version or a list, any of which may
    match), another stored version raises ``PreconditionFailed``. A missing
    or foreign id raises ``NotFound``.
    """
    # Without If-Match the list is NULL, which skips the version check.
    versions = None if expected_version is None else _version_list(expected_version)
    rows = connection.run(
        "DELETE FROM portfolios WHERE id = :id AND owner_sub = :owner "
        "AND (CAST(:versions AS integer[]) IS NULL "
        "OR version = ANY(CAST(:versions AS integer[]))) "
        "RETURNING id",
        id=portfolio_id,
        owner=owner,
        versions=versions,
    )
    if not rows:
        _raise_missing_or_stale(connection, owner, portfolio_id)
    _record_deletions(connection, [portfolio_id])


def _record_deletions(
    connection: pg8000.native.Connection, portfolio_ids: list[uuid.UUID]
) -> None:
    if not portfolio_ids:
        return
    connection.run(
        "INSERT INTO deleted_portfolios (id, deleted_at) "
        "SELECT CAST(id AS uuid), now() FROM unnest(CAST(:ids AS text[])) AS id "
        "ON CONFLICT (id) DO NOTHING",
        ids=[str(portfolio_id) for portfolio_id in portfolio_ids],
    )


def export_portfolios(
    connection: pg8000.native.Connection, owner: str
) -> list[Portfolio]:
    """Read every portfolio of the owner with its holdings, oldest first."""
    rows = connection.run(
        "SELECT id, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options "
        "FROM portfolios WHERE owner_sub = :owner "
        "ORDER BY created_at, id",
        owner=owner,
    )
    portfolios = [portfolio_from_row(row) for row in rows]
    return [
        dataclasses.replace(
            portfolio, holdings=_load_holdings(connection, portfolio.id)
        )
        for portfolio in portfolios
    ]


def delete_all_portfolios(connection: pg8000.native.Connection, owner: str) -> int:
    """Delete every portfolio of the owner, record the ids, and return the count."""
    rows = connection.run(
        "DELETE FROM portfolios WHERE owner_sub = :owner RETURNING id", owner=owner
    )
    deleted = [row[0] for row in rows]
    _record_deletions(connection, deleted)
    return len(deleted)
