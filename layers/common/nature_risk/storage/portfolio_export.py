"""Paged export of every portfolio of one owner, with its holdings.

Pages follow one keyset order: portfolios by ``(created_at, id)``, as the list
route orders them, and each portfolio's holdings by ``position``. A page takes
whole portfolios while they fit its byte budget. A portfolio that does not fit
in the rest of a page is split, and the next page continues it at the first
holding not yet sent. Every page has at least one holding or one portfolio
without holdings, so paging always ends.

Sizes are counted by ``escaped_size``, as Lambda counts a response.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pg8000.native

from nature_risk.errors import Conflict
from nature_risk.json_input import JsonNestingError, load_json
from nature_risk.storage.cursors import (
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    format_timestamp,
    parse_integer,
    parse_timestamp,
    parse_uuid,
)
from nature_risk.storage.portfolios import (
    Portfolio,
    escaped_size,
    portfolio_from_row,
)

# Holdings read from the database in one query while a page is filled.
HOLDINGS_BATCH = 1_000
# Room kept in each page for the export's top-level fields and the cursor.
_FRAME_RESERVE = 8_000
CHANGED_MESSAGE = (
    "A portfolio changed or was deleted while the export was read. "
    "Start the export again without a cursor."
)


@dataclasses.dataclass(frozen=True, slots=True)
class ExportPart:
    """A portfolio's summary with the holdings from ``holdings_offset`` on."""

    portfolio: Portfolio
    holdings_offset: int
    holdings_complete: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: the summary, the holdings and where they start."""
        return {
            **self.portfolio.summary(),
            "holdings_offset": self.holdings_offset,
            "holdings_complete": self.holdings_complete,
            "holdings": self.portfolio.holdings,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class ExportPage:
    """One export page, its 1-based number and the cursor of the next page."""

    parts: list[ExportPart]
    page_number: int
    next_cursor: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Position:
    created_at: dt.datetime
    portfolio_id: uuid.UUID
    holdings_offset: int
    version: int
    page_number: int


def _encode_cursor(position: _Position) -> str:
    text = json.dumps(
        [
            format_timestamp(position.created_at),
            str(position.portfolio_id),
            position.holdings_offset,
            position.version,
            position.page_number,
        ],
        separators=(",", ":"),
    )
    return encode_cursor(text)


def _decode_cursor(cursor: str) -> _Position:
    """Return the position that an export cursor names, or raise ``InvalidCursor``.

    The holdings offset is checked against the portfolio in ``_check_continued``.
    """
    try:
        fields = load_json(decode_cursor(cursor))
    except (ValueError, JsonNestingError):
        raise InvalidCursor() from None
    if not isinstance(fields, list) or len(fields) != 5:
        raise InvalidCursor()
    created_text, id_text, offset, version, page_number = fields
    return _Position(
        parse_timestamp(created_text),
        parse_uuid(id_text),
        parse_integer(offset, 0),
        parse_integer(version, 1),
        parse_integer(page_number, 1),
    )


def _portfolios_from(
    connection: pg8000.native.Connection, owner: str, start: _Position | None
) -> list[Portfolio]:
    columns = (
        "SELECT id, name, module, currency, holdings_count, version, "
        "created_at, updated_at, options FROM portfolios WHERE owner_sub = :owner "
    )
    if start is None:
        rows = connection.run(columns + "ORDER BY created_at, id", owner=owner)
    else:
        rows = connection.run(
            columns + "AND (created_at, id) >= (:created_at, :id) "
            "ORDER BY created_at, id",
            owner=owner,
            created_at=start.created_at,
            id=start.portfolio_id,
        )
    return [portfolio_from_row(row) for row in rows]


def _holdings_batch(
    connection: pg8000.native.Connection, portfolio_id: uuid.UUID, offset: int
) -> list[dict[str, Any]]:
    rows = connection.run(
        "SELECT coalesce(json_agg(data ORDER BY position), '[]'::json) FROM "
        "(SELECT data, position FROM holdings WHERE portfolio_id = :id "
        "AND position >= :offset ORDER BY position LIMIT :limit) AS batch",
        id=portfolio_id,
        offset=offset,
        limit=HOLDINGS_BATCH,
    )
    return rows[0][0]


def _check_continued(portfolios: list[Portfolio], start: _Position | None) -> None:
    # A page that continues a split portfolio must read the same version,
    # or the client would join holdings of two versions.
    if start is None or start.holdings_offset == 0:
        return
    first = portfolios[0] if portfolios else None
    if (
        first is None
        or first.id != start.portfolio_id
        or first.version != start.version
    ):
        raise Conflict(CHANGED_MESSAGE)
    # A page splits a portfolio only before a holding it could not take, so
    # the cursor of an unchanged portfolio names a holding that exists.
    if start.holdings_offset >= first.holdings_count:
        raise InvalidCursor()


def export_page(
    connection: pg8000.native.Connection,
    owner: str,
    budget_bytes: int,
    cursor: str | None = None,
) -> ExportPage:
    """Read the export page that ``cursor`` starts (the first page without one).

    The page's parts add up to at most ``budget_bytes`` escaped bytes (see
    ``escaped_size``), except that the first holding of a page is always
    included. Raises ``InvalidCursor`` for an invalid cursor and ``Conflict``
    when a split portfolio changed between pages.
    """
    start = _decode_cursor(cursor) if cursor else None
    page_number = start.page_number + 1 if start else 1
    portfolios = _portfolios_from(connection, owner, start)
    _check_continued(portfolios, start)
    room = budget_bytes - _FRAME_RESERVE
    parts: list[ExportPart] = []
    for portfolio in portfolios:
        offset = (
            start.holdings_offset
            if start is not None and portfolio.id == start.portfolio_id
            else 0
        )
        part, room = _fill_part(connection, portfolio, offset, room, first=not parts)
        if part is None:
            return ExportPage(parts, page_number, _next(portfolio, offset, page_number))
        parts.append(part)
        if not part.holdings_complete:
            resume = offset + len(part.portfolio.holdings)
            return ExportPage(parts, page_number, _next(portfolio, resume, page_number))
    return ExportPage(parts, page_number, None)


def _next(portfolio: Portfolio, offset: int, page_number: int) -> str:
    return _encode_cursor(
        _Position(
            portfolio.created_at, portfolio.id, offset, portfolio.version, page_number
        )
    )


def _fill_part(
    connection: pg8000.native.Connection,
    portfolio: Portfolio,
    offset: int,
    room: int,
    *,
    first: bool,
) -> tuple[ExportPart | None, int]:
    """Take the holdings from ``offset`` that fit in ``room`` escaped bytes.

    Returns None when not even the summary and one holding fit, unless the
    part is the page's first, which always takes one.
    """
    # The summary with an empty holdings list, plus the comma before the part.
    cost = escaped_size(ExportPart(portfolio, offset, False).to_dict()) + 1
    included: list[dict[str, Any]] = []
    position = offset
    while True:
        batch = _holdings_batch(connection, portfolio.id, position)
        for holding in batch:
            holding_cost = escaped_size(holding) + 1
            if cost + holding_cost > room and (included or not first):
                return _part(portfolio, offset, included, False, room - cost)
            included.append(holding)
            cost += holding_cost
        position += len(batch)
        if len(batch) < HOLDINGS_BATCH:
            break
    if cost > room and not first:
        return None, room
    return _part(portfolio, offset, included, True, room - cost)


def _part(
    portfolio: Portfolio,
    offset: int,
    holdings: list[dict[str, Any]],
    complete: bool,
    room: int,
) -> tuple[ExportPart | None, int]:
    if not holdings and not complete:
        return None, room
    part = ExportPart(
        dataclasses.replace(portfolio, holdings=holdings), offset, complete
    )
    return part, room
