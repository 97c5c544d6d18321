"""Write and check the paging cursors of the portfolio list and the export.

A cursor is unpadded base64url text that this package wrote. Decoding accepts
only the exact text the encoder writes, with every field of the type and range
the database accepts. A forged cursor therefore fails here with the same error
as a garbled one, and never reaches the database driver.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid

from nature_risk.errors import InputError, Problem

CURSOR_MESSAGE = (
    "The cursor is invalid. Send the next_cursor value of the previous page, "
    "or no cursor for the first page."
)
CURSOR_REASON = "must be the next_cursor of the previous page"
# The largest PostgreSQL integer, the type of versions and positions.
MAX_INTEGER = 2**31 - 1
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


class InvalidCursor(InputError):
    """A cursor that this package did not write: 422, as for other query values."""

    status = 422
    code = "invalid_request"

    def __init__(self) -> None:
        super().__init__(
            CURSOR_MESSAGE, [Problem(field="query.cursor", reason=CURSOR_REASON)]
        )


def encode_cursor(text: str) -> str:
    """Encode cursor text as unpadded base64url."""
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """Return the text of a cursor, or raise ``InvalidCursor`` unless it is canonical.

    Python's base64 decoder skips characters outside the alphabet, so the text
    is encoded again and must give the cursor back.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error):
        raise InvalidCursor() from None
    if encode_cursor(text) != cursor:
        raise InvalidCursor()
    return text


def format_timestamp(value: dt.datetime) -> str:
    """Format a stored time for a cursor, in UTC whatever the session time zone."""
    return value.astimezone(dt.UTC).isoformat()


def parse_timestamp(value: object) -> dt.datetime:
    """Parse a cursor time, or raise ``InvalidCursor`` unless it is UTC as written.

    Only UTC is accepted, because the driver converts an aware time to UTC
    before it sends it. Another offset can move a valid Python time past year
    1 or 9999, which raises ``OverflowError`` in the driver.
    """
    if not isinstance(value, str):
        raise InvalidCursor()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidCursor() from None
    if parsed.utcoffset() != dt.timedelta(0) or format_timestamp(parsed) != value:
        raise InvalidCursor()
    return parsed


def canonical_uuid(value: object) -> uuid.UUID | None:
    """Parse the lowercase 8-4-4-4-12 hex form of a UUID, or return None.

    ``uuid.UUID`` also reads uppercase, braces, ``urn:uuid:`` and hex without
    hyphens, and a resource should have one address.
    """
    if not isinstance(value, str) or _CANONICAL_UUID.fullmatch(value) is None:
        return None
    return uuid.UUID(value)


def parse_uuid(value: object) -> uuid.UUID:
    """Parse a cursor's portfolio id, or raise ``InvalidCursor`` unless canonical."""
    parsed = canonical_uuid(value)
    if parsed is None:
        raise InvalidCursor()
    return parsed


def parse_integer(value: object, minimum: int) -> int:
    """Check that a cursor number is an integer from ``minimum`` to 2**31-1."""
    if type(value) is not int or not minimum <= value <= MAX_INTEGER:
        raise InvalidCursor()
    return value
