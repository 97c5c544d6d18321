"""Dashboard option flags as requests send them, in a JSON body or a query string.

The public dashboard routes and the saved-portfolio routes read flags with
``parse_flag``, so a flag means the same on both.
"""

from __future__ import annotations

from nature_risk.errors import InputError, Problem

# The words the query string's bool parameters take (pydantic's), so a flag
# reads the same in the body and the query. An empty value is rejected in both.
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})


def parse_flag(value: object, name: str) -> bool:
    """Read an option flag from a JSON value or text (true/false, 1/0, yes/no)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    raise InputError(
        f"The option '{name}' must be true or false.",
        [Problem(reason="must be true or false", field=name)],
    )
