"""Parse JSON text that a request carries, rejecting nesting too deep to parse.

Python's ``json`` decoder recurses once per nested array or object, and
CPython 3.13 raises ``RecursionError`` at about 10,000 levels. The functions
read every request body and form field of JSON with ``load_json``, so such a
document gets the same 400 on every route, and the error names the field that
carried it. (The local sign-in's tokens are at most 8,192 characters, too
short to nest that deep, and are read with ``json.loads``.)
"""

from __future__ import annotations

import json
from typing import Any

from nature_risk.errors import InputError, Problem

UTF8_NAMES = ("utf-8", "utf-8-sig")


class JsonNestingError(InputError):
    """A JSON document is nested deeper than the decoder can read."""

    def __init__(self, field: str) -> None:
        if field == "body":
            message = (
                "The JSON body is nested too deeply to read. A dashboard or"
                " portfolio body needs three levels: an object, its list of"
                " records and one object per record."
            )
        else:
            message = (
                f"The JSON text of the field '{field}' is nested too deeply to"
                " read: send one object of flags, numbers and strings."
            )
        super().__init__(message, [Problem(reason="nested too deeply", field=field)])


class JsonEncodingError(InputError):
    """JSON bytes in another encoding than UTF-8, which RFC 8259 requires."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"The JSON text of '{field}' is not UTF-8 (it looks like UTF-16 or"
            " UTF-32): send JSON as UTF-8.",
            [Problem(reason="not UTF-8", field=field)],
        )


def load_json(text: str | bytes, *, field: str = "body", **options: Any) -> Any:
    """Parse JSON text with ``json.loads``, passing ``options`` on to it.

    ``field`` names where the text came from: ``body`` or a form field.
    Raises ``JsonNestingError`` (400) when the document is nested too deeply
    to read, ``JsonEncodingError`` (400) for bytes in another encoding than
    UTF-8, and ``ValueError`` for text that is not JSON, as ``json.loads``
    does. An integer too long for ``int`` becomes a float (see
    ``_parse_int``).
    """
    options.setdefault("parse_int", _parse_int)
    # json.loads would read UTF-16 and UTF-32 bytes too, though a charset
    # parameter naming them is rejected: RFC 8259, section 8.1 allows UTF-8 only.
    if isinstance(text, bytes) and json.detect_encoding(text) not in UTF8_NAMES:
        raise JsonEncodingError(field)
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise JsonNestingError(field) from None


def _parse_int(text: str) -> int | float:
    """Read a JSON integer, as a float when it is too long for ``int``.

    ``int`` rejects more than ``sys.get_int_max_str_digits()`` digits (4,300
    by default), which ``json.loads`` would report as invalid JSON. As a float
    such a number is infinite, which the amount checks report on its field.
    """
    try:
        return int(text)
    except ValueError:
        return float(text)
